// ADD of local archives through the tsbuild CLI, as Docker extracts them: the
// destination is the archive's root (a `../` name is refused, symlinks resolve
// inside it), and a compressed file that holds no tar is copied as it is.
import { createRequire } from 'node:module'
import { lstat, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import type TarStream from 'tar-stream'
import { beforeAll, describe, expect, inject, test } from 'vitest'
import { ensureBuilt, freshDir, runTsbuild, writeContext } from '../helpers/tsbuild.js'

const tarStream = createRequire(import.meta.url)('tar-stream') as typeof TarStream

let busybox: string
beforeAll(async () => {
  busybox = inject('busybox')
  await ensureBuilt()
})

type Entry = { name: string; type?: 'file' | 'symlink' | 'directory'; linkname?: string; data?: string }

/** A tar built entry by entry, so names and links can be exactly what an attacker would write. */
async function tarOf (entries: Entry[]): Promise<Buffer> {
  const pack = tarStream.pack()
  const chunks: Buffer[] = []
  pack.on('data', (c: unknown) => chunks.push(c as Buffer))
  const done = new Promise<void>((resolve, reject) => { pack.on('end', resolve); pack.on('error', reject) })
  for (const e of entries) {
    const type = e.type ?? 'file'
    if (type === 'file') pack.entry({ name: e.name, mode: 0o644 }, e.data ?? '')
    else pack.entry({ name: e.name, type, ...(e.linkname !== undefined ? { linkname: e.linkname } : {}), mode: 0o755 })
  }
  pack.finalize()
  await done
  return Buffer.concat(chunks)
}

async function build (dockerfile: string, files: Record<string, Buffer>): Promise<{ code: number | null; stderr: string; fs: string }> {
  const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: dockerfile })
  for (const [name, data] of Object.entries(files)) await writeFile(join(ctx, name), data)
  const fs = join(await freshDir('tsb-out-'), 'fs')
  const r = await runTsbuild(['build', '--progress=plain', '-o', `type=local,dest=${fs}`, ctx], { root: await freshDir('tsb-root-') })
  return { code: r.code, stderr: r.stderr, fs }
}

describe('ADD of a local archive', () => {
  test('a name that climbs out of the destination is refused, naming the entry', async () => {
    const r = await build(`FROM ${busybox}\nADD evil.tar /x/\n`, { 'evil.tar': await tarOf([{ name: '../../../../tmp/esc', data: 'pwned' }]) })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('cannot extract evil.tar: entry "../../../../tmp/esc" would be written outside the destination')
  })

  test.each([
    ['an absolute symlink', '/tmp'],
    ['a relative symlink that climbs', '../../../../../../tmp'],
  ])('%s planted by the archive resolves inside the destination', async (_, linkname) => {
    const r = await build(`FROM ${busybox}\nADD links.tar /x/\n`, {
      'links.tar': await tarOf([{ name: 'lnk', type: 'symlink', linkname }, { name: 'lnk/esc', data: 'contained' }]),
    })
    expect(r.code, r.stderr).toBe(0)
    expect(await readFile(join(r.fs, 'x/tmp/esc'), 'utf8')).toBe('contained')
    await expect(lstat(join(r.fs, 'tmp/esc'))).rejects.toThrow(/ENOENT/)
  })

  test('a gzip file that holds no tar is copied as it is; a gzipped tar is extracted', async () => {
    const single = gzipSync('just text\n')
    const tgz = gzipSync(await tarOf([{ name: 'dir/inner.txt', data: 'inner\n' }]))
    const r = await build(`FROM ${busybox}\nADD single.gz /gz/\nADD app.tgz /app/\n`, { 'single.gz': single, 'app.tgz': tgz })
    expect(r.code, r.stderr).toBe(0)
    expect(await readFile(join(r.fs, 'gz/single.gz'))).toEqual(single)
    expect(await readFile(join(r.fs, 'app/dir/inner.txt'), 'utf8')).toBe('inner\n')
  })
})
