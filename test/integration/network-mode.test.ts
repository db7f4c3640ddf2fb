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

describe('raw sockets', () => {
  // CAP_NET_RAW is bit 13 of the effective set.
  const hasNetRaw = (status: string): boolean => (BigInt('0x' + /^CapEff:\s*([0-9a-f]+)$/m.exec(status)![1]!) >> 13n & 1n) === 1n

  test('a RUN on the host network by default has no CAP_NET_RAW (it could read the host\'s traffic); --network=host keeps it', async () => {
    const capsCtx = await writeContext(await freshDir('tsb-ctx-'), {
      'Dockerfile': `FROM ${inject('busybox')}\nRUN grep Cap /proc/self/status > /caps && (ping -c1 -W1 127.0.0.1 > /ping 2>&1; echo "exit $?" >> /ping)\n`,
    })
    const plain = join(await freshDir('tsb-out-'), 'fs')
    await buildOk(['build', '-o', `type=local,dest=${plain}`, capsCtx], { root })
    expect(hasNetRaw(await readFile(join(plain, 'caps'), 'utf8'))).toBe(false)
    expect(await readFile(join(plain, 'ping'), 'utf8')).not.toMatch(/exit 0/)
    const host = join(await freshDir('tsb-out-'), 'fs')
    await buildOk(['build', '--network', 'host', '-o', `type=local,dest=${host}`, capsCtx], { root })
    expect(hasNetRaw(await readFile(join(host, 'caps'), 'utf8'))).toBe(true)
    expect(await readFile(join(host, 'ping'), 'utf8')).toMatch(/exit 0/)
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
