// Build-wide settings a RUN sees: `tsbuild build --network` (the mode of
// every RUN that does not set its own, part of each RUN's cache key, as in
// BuildKit) and SOURCE_DATE_EPOCH from the environment (a build arg, as buildx
// passes it).
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, inject, test } from 'vitest'
import { buildOk, ensureBuilt, freshDir, writeContext } from '../helpers/tsbuild.js'

let ctx: string
let root: string

beforeAll(async () => {
  await ensureBuilt()
  ctx = await writeContext(await freshDir('tsb-ctx-'), {
    'Dockerfile': `FROM ${inject('busybox')}\nRUN cat /proc/net/dev > /netdev\n`,
  })
  root = await freshDir('tsb-root-')
})

async function interfaces (extra: string[]): Promise<{ names: string[]; log: string }> {
  const out = join(await freshDir('tsb-out-'), 'fs')
  const res = await buildOk(['build', '--progress', 'plain', ...extra, '-o', `type=local,dest=${out}`, ctx], { root })
  const text = await readFile(join(out, 'netdev'), 'utf8')
  const names = text.split('\n').slice(2).map((l) => l.split(':')[0]!.trim()).filter((n) => n !== '')
  return { names, log: res.stderr }
}

describe('--network for the whole build', () => {
  test('none: the RUN sees only loopback, and a default-network record is not reused', async () => {
    const plain = await interfaces([])
    expect(plain.names.length).toBeGreaterThan(1)
    const none = await interfaces(['--network', 'none'])
    expect(none.names).toEqual(['lo'])
    expect(none.log).not.toMatch(/RUN cat \/proc\/net\/dev > \/netdev\n#\d+ CACHED/)
    const again = await interfaces(['--network', 'none'])
    expect(again.log).toMatch(/RUN cat \/proc\/net\/dev > \/netdev\n#\d+ CACHED/)
  })
})

describe('SOURCE_DATE_EPOCH in the environment', () => {
  test('is a build arg a RUN can read, and sets the image creation time', async () => {
    const epochCtx = await writeContext(await freshDir('tsb-ctx-'), {
      'Dockerfile': `FROM ${inject('busybox')}\nARG SOURCE_DATE_EPOCH\nRUN echo "epoch=$SOURCE_DATE_EPOCH" > /epoch\n`,
    })
    const dir = await freshDir('tsb-out-')
    const env = { SOURCE_DATE_EPOCH: '1700000000' }
    const res = await buildOk(['build', '--progress', 'plain', '-o', `type=local,dest=${join(dir, 'fs')}`, epochCtx], { root, env })
    expect(res.stderr).not.toMatch(/were not consumed/)
    expect(await readFile(join(dir, 'fs', 'epoch'), 'utf8')).toBe('epoch=1700000000\n')
    await buildOk(['build', '-t', 'epoch:1', epochCtx], { root, env })
    const inspect = await buildOk(['inspect', 'epoch:1'], { root })
    expect(inspect.stdout).toMatch(/2023-11-14T22:13:20Z/)
  })
})
