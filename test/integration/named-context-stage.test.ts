// tsbuild build --build-context NAME=… where NAME is a stage of the
// Dockerfile: the stage is the named context and none of its instructions
// run, for a directory and for a registry image.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, inject, test } from 'vitest'
import { buildOk, ensureBuilt, freshDir, writeContext } from '../helpers/tsbuild.js'

let busybox: string
let registry: string
/** A registry image with `/s` holding "from-image". */
let replacement: string

beforeAll(async () => {
  busybox = inject('busybox')
  registry = inject('registry')
  await ensureBuilt()
  replacement = `${registry}/namedctx/replacement:v1`
  const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN echo from-image > /s\nENV FROM_IMAGE=yes\n` })
  await buildOk(['build', '--push', '-t', replacement, ctx], { root: await freshDir('tsb-root-') })
})

/** The reviewed case: the stage `gen` writes /s, the final stage copies it. */
const dockerfile = (busyboxRef: string, final: string): string =>
  `FROM ${busyboxRef} AS gen\nRUN echo original > /s\nFROM ${busyboxRef}\n${final}\n`

async function build (files: Record<string, string>, ...args: string[]): Promise<{ dest: string; stderr: string }> {
  const ctx = await writeContext(await freshDir('tsb-ctx-'), files)
  const dest = join(await freshDir('tsb-out-'), 'fs')
  const r = await buildOk(['build', '--progress', 'plain', ...args, '-o', `type=local,dest=${dest}`, ctx], { root: await freshDir('tsb-root-') })
  return { dest, stderr: r.stderr }
}

describe('a --build-context named after a stage replaces the stage', () => {
  test('a directory: COPY --from=gen reads it and the stage\'s RUN never runs', async () => {
    const rep = await writeContext(await freshDir('tsb-rep-'), { s: 'replaced\n' })
    const { dest, stderr } = await build({ Dockerfile: dockerfile(busybox, 'COPY --from=gen /s /s') }, '--build-context', `gen=${rep}`)
    expect(await readFile(join(dest, 's'), 'utf8')).toBe('replaced\n')
    expect(stderr).not.toContain('echo original')
  })

  test('a directory: RUN --mount from=gen sees it, and --target gen exports it as is', async () => {
    const rep = await writeContext(await freshDir('tsb-rep-'), { s: 'replaced\n', 'sub/t': 'also\n' })
    const mounted = await build({ Dockerfile: dockerfile(busybox, 'RUN --mount=from=gen,target=/g cat /g/s /g/sub/t > /seen') }, '--build-context', `gen=${rep}`)
    expect(await readFile(join(mounted.dest, 'seen'), 'utf8')).toBe('replaced\nalso\n')

    const target = await build({ Dockerfile: dockerfile(busybox, 'RUN false') }, '--build-context', `gen=${rep}`, '--target', 'gen')
    expect(await readFile(join(target.dest, 's'), 'utf8')).toBe('replaced\n')
    expect(await readFile(join(target.dest, 'sub/t'), 'utf8')).toBe('also\n')
    expect(target.stderr).not.toContain('echo original')
  })

  test('a docker-image:// context: COPY --from=gen and FROM gen read the image, with its config', async () => {
    const copied = await build({ Dockerfile: dockerfile(busybox, 'COPY --from=gen /s /s') }, '--build-context', `gen=docker-image://${replacement}`)
    expect(await readFile(join(copied.dest, 's'), 'utf8')).toBe('from-image\n')
    expect(copied.stderr).not.toContain('echo original')

    const based = await build({ Dockerfile: `FROM ${busybox} AS gen\nRUN echo original > /s\nFROM gen\nRUN echo "$FROM_IMAGE $(cat /s)" > /seen\n` }, '--build-context', `gen=docker-image://${replacement}`)
    expect(await readFile(join(based.dest, 'seen'), 'utf8')).toBe('yes from-image\n')
  })
})
