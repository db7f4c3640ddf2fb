// Image and history times without SOURCE_DATE_EPOCH, as BuildKit sets them:
// from when each layer was made, so a rebuild that changes nothing keeps the
// image digest, and a rebuild that changes one step moves only what follows.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, inject, test } from 'vitest'
import type { ImageConfig } from '../../src/common/oci.js'
import { buildOk, ensureBuilt, freshDir, writeContext } from '../helpers/tsbuild.js'

let busybox: string
beforeAll(async () => {
  busybox = inject('busybox')
  await ensureBuilt()
})

interface Inspected { images: Array<{ descriptor: { digest: string }; config: ImageConfig }> }

async function buildAndInspect (root: string, ctx: string): Promise<{ digest: string; config: ImageConfig }> {
  await buildOk(['build', '--progress=plain', '-t', 'times', ctx], { root })
  const img = (JSON.parse((await buildOk(['inspect', 'times'], { root })).stdout) as Inspected).images[0]!
  return { digest: img.descriptor.digest, config: img.config }
}

describe('image times without SOURCE_DATE_EPOCH', () => {
  test('a fully cached rebuild gives the same image; a changed step moves only the times from it on', async () => {
    const root = await freshDir('tsb-root-')
    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: [`FROM ${busybox}`, 'ENV A=1', 'RUN echo one > /one', 'COPY b.txt /b.txt', 'CMD ["cat", "/b.txt"]'].join('\n'),
      'b.txt': 'b1\n',
    })
    const before = Date.now()
    const first = await buildAndInspect(root, ctx)
    const times = (c: ImageConfig) => c.history!.map((h) => h.created)
    const ours = (c: ImageConfig) => c.history!.slice(-4) // ENV, RUN, COPY, CMD
    // ENV takes the time of the first layer made after it (the RUN's), CMD that of the COPY before it.
    const [env, run, copy, cmd] = ours(first.config).map((h) => h.created!)
    expect(Date.parse(run!)).toBeGreaterThanOrEqual(before - 1000)
    expect(env).toBe(run)
    expect(Date.parse(copy!)).toBeGreaterThanOrEqual(Date.parse(run!))
    expect(cmd).toBe(copy)
    expect(first.config.created).toBe(copy)

    const again = await buildAndInspect(root, ctx)
    expect(again.digest).toBe(first.digest)

    await new Promise((resolve) => setTimeout(resolve, 20))
    await writeFile(join(ctx, 'b.txt'), 'b2\n')
    const changed = await buildAndInspect(root, ctx)
    expect(changed.digest).not.toBe(first.digest)
    // The base image's entries and the cached RUN keep their times; the new COPY layer is newer.
    expect(times(changed.config).slice(0, -2)).toEqual(times(first.config).slice(0, -2))
    const newCopy = ours(changed.config)[2]!.created!
    expect(Date.parse(newCopy)).toBeGreaterThan(Date.parse(copy!))
    expect(ours(changed.config)[3]!.created).toBe(newCopy)
    expect(changed.config.created).toBe(newCopy)
  })
})
