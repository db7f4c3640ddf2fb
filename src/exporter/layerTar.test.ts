import { execFileSync } from 'node:child_process'
import { link, mkdir, mkdtemp, symlink, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { extract } from 'tar-stream'
import { describe, expect, test } from 'vitest'
import { layerTarStream } from './layerTar.js'

const isRoot = process.getuid?.() === 0

async function tarBytes (dir: string, sourceDateEpoch?: number): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const p of layerTarStream(dir, sourceDateEpoch !== undefined ? { sourceDateEpoch } : {})) parts.push(Buffer.from(p))
  return Buffer.concat(parts)
}

interface Listed { name: string; type: string; linkname?: string | null; size: number; mtime: number; pax?: Record<string, string> | null; uname?: string }

async function listTar (bytes: Buffer): Promise<Listed[]> {
  const out: Listed[] = []
  const ex = extract()
  ex.on('entry', (h, stream, next) => {
    out.push({ name: h.name, type: h.type ?? 'file', linkname: h.linkname, size: h.size ?? 0, mtime: (h.mtime?.getTime() ?? 0) / 1000, pax: h.pax as Record<string, string> | null, uname: h.uname ?? '' })
    stream.on('end', next)
    stream.resume()
  })
  const done = new Promise<void>((resolve, reject) => { ex.on('finish', () => resolve()); ex.on('error', reject) })
  Readable.from([bytes]).pipe(ex)
  await done
  return out
}

async function makeTree (order: 'forward' | 'reverse', mtime: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-layer-'))
  const files: Array<[string, string]> = [['b/z.txt', 'zz'], ['a.txt', 'hello'], ['b/a-b', 'x'], ['c', 'cc']]
  const ordered = order === 'forward' ? files : [...files].reverse()
  await mkdir(join(dir, 'b'))
  for (const [name, content] of ordered) await writeFile(join(dir, name), content)
  await symlink('a.txt', join(dir, 'link'))
  for (const p of ['b/z.txt', 'a.txt', 'b/a-b', 'c', 'b']) await utimes(join(dir, p), mtime, mtime)
  return dir
}

describe('layerTarStream', () => {
  test('same tree twice gives identical bytes despite creation order and mtimes above the clamp', async () => {
    const epoch = 1_700_000_000
    const a = await tarBytes(await makeTree('forward', epoch + 100), epoch)
    const b = await tarBytes(await makeTree('reverse', epoch + 99_999), epoch)
    expect(Buffer.compare(a, b)).toBe(0)
    const entries = await listTar(a)
    expect(entries.map((e) => e.name)).toEqual(['a.txt', 'b/', 'b/a-b', 'b/z.txt', 'c', 'link'])
    expect(new Set(entries.filter((e) => e.name !== 'link').map((e) => e.mtime))).toEqual(new Set([epoch]))
    expect(entries.every((e) => e.uname === '')).toBe(true)
  })

  test('mtimes below the clamp are kept, and without an epoch all are kept', async () => {
    const dir = await makeTree('forward', 1_000_000)
    const entries = await listTar(await tarBytes(dir, 2_000_000))
    expect(entries.find((e) => e.name === 'a.txt')?.mtime).toBe(1_000_000)
    const unclamped = await listTar(await tarBytes(await makeTree('forward', 3_000_000)))
    expect(unclamped.find((e) => e.name === 'c')?.mtime).toBe(3_000_000)
  })

  test('parents come before children and names sort by bytes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsbuild-layer-'))
    await mkdir(join(dir, 'a/b'), { recursive: true })
    await writeFile(join(dir, 'a-b'), '')
    await writeFile(join(dir, 'a/b/c'), '')
    await writeFile(join(dir, 'B'), '')
    const names = (await listTar(await tarBytes(dir))).map((e) => e.name)
    expect(names).toEqual(['B', 'a/', 'a-b', 'a/b/', 'a/b/c'])
  })

  test('hard links become Link entries to the first path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsbuild-layer-'))
    await writeFile(join(dir, 'z-original'), 'data')
    await link(join(dir, 'z-original'), join(dir, 'a-second'))
    await link(join(dir, 'z-original'), join(dir, 'm-third'))
    const entries = await listTar(await tarBytes(dir))
    expect(entries).toMatchObject([
      { name: 'a-second', type: 'file', size: 4 },
      { name: 'm-third', type: 'link', linkname: 'a-second', size: 0 },
      { name: 'z-original', type: 'link', linkname: 'a-second', size: 0 },
    ])
  })

  test('long and non-ASCII names survive through PAX records', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsbuild-layer-'))
    const long = `${'d'.repeat(120)}/${'f'.repeat(90)}`
    await mkdir(join(dir, 'd'.repeat(120)))
    await writeFile(join(dir, long), 'x')
    await writeFile(join(dir, 'ünïcødé'), 'y')
    await symlink('t'.repeat(150), join(dir, 'longlink'))
    const bytes = await tarBytes(dir)
    const names = (await listTar(bytes)).map((e) => e.name)
    expect(names).toEqual(expect.arrayContaining([long, 'ünïcødé', 'longlink']))
    expect((await listTar(bytes)).find((e) => e.name === 'longlink')?.linkname).toBe('t'.repeat(150))
    const gnuList = execFileSync('tar', ['-tf', '-'], { input: bytes }).toString().trim().split('\n')
    expect(gnuList).toContain(long)
  })

  // Overlay whiteouts are character devices and the opaque marker is a trusted.* xattr: both need root.
  test.runIf(isRoot)('overlay whiteouts and opaque dirs become OCI whiteout files; xattrs kept except overlay ones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsbuild-layer-'))
    await mkdir(join(dir, 'etc'))
    await mkdir(join(dir, 'opaque'))
    await writeFile(join(dir, 'opaque/new'), 'n')
    execFileSync('mknod', [join(dir, 'etc/passwd'), 'c', '0', '0'])
    execFileSync('mknod', [join(dir, 'null'), 'c', '1', '3'])
    execFileSync('mkfifo', [join(dir, 'fifo')])
    execFileSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', join(dir, 'opaque')])
    execFileSync('setfattr', ['-n', 'user.note', '-v', 'hi', join(dir, 'opaque/new')])
    execFileSync('setfattr', ['-n', 'security.capability', '-v', '0x0100000200200000000000000000000000000000', join(dir, 'etc')])
    const bytes = await tarBytes(dir)
    const entries = await listTar(bytes)
    expect(entries.map((e) => [e.name, e.type])).toEqual([
      ['etc/', 'directory'], ['etc/.wh.passwd', 'file'], ['fifo', 'fifo'], ['null', 'character-device'],
      ['opaque/', 'directory'], ['opaque/.wh..wh..opq', 'file'], ['opaque/new', 'file'],
    ])
    expect(entries.find((e) => e.name === 'opaque/')?.pax ?? {}).not.toHaveProperty('SCHILY.xattr.trusted.overlay.opaque')
    expect(entries.find((e) => e.name === 'opaque/new')?.pax).toEqual({ 'SCHILY.xattr.user.note': 'hi' })
    // Binary values must be byte-exact: GNU tar reads them back.
    const gnu = execFileSync('tar', ['--xattrs', '--xattrs-include=*', '-tvvf', '-'], { input: bytes }).toString()
    expect(gnu).toContain('etc/')
    const raw = bytes.toString('latin1')
    expect(raw).toContain('SCHILY.xattr.security.capability=\u0001\u0000\u0000\u0002\u0000 \u0000')
  })
})
