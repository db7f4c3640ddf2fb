import { spawn } from 'node:child_process'
import { createReadStream } from 'node:fs'
import { chmod, lchown, lutimes, mkdir, open, rm, symlink, link, lstat } from 'node:fs/promises'
import { posix } from 'node:path'
import { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { createRequire } from 'node:module'
import type tar from 'tar-stream'
import { TsbuildError } from '../../../common/errors.js'
import { resolveInRoot } from '../../../common/pathInRoot.js'
import type { Owner } from './copy.js'

// Loaded on first use: a no-op rebuild never reads a tar, and loading these costs ~20 ms each at start.
const loadTar = (): typeof tar => createRequire(import.meta.url)('tar-stream') as typeof tar

type Compression = 'gzip' | 'bzip2' | 'xz' | 'zstd' | 'none'

/** Detect an archive by its content, as ADD does (the file name does not matter). */
export async function detectArchive (path: string): Promise<Compression | undefined> {
  const fh = await open(path, 'r')
  try {
    const buf = Buffer.alloc(512)
    const { bytesRead } = await fh.read(buf, 0, 512, 0)
    const b = buf.subarray(0, bytesRead)
    if (b[0] === 0x1f && b[1] === 0x8b) return 'gzip'
    if (b.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2'
    if (b.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz'
    if (b.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return 'zstd'
    if (bytesRead >= 262 && b.subarray(257, 262).toString('latin1') === 'ustar') return 'none'
    return undefined
  } finally {
    await fh.close()
  }
}

export async function isArchive (path: string): Promise<boolean> {
  return (await detectArchive(path)) !== undefined
}

function decompressed (path: string, c: Compression): Readable {
  const src = createReadStream(path)
  if (c === 'none') return src
  if (c === 'gzip') return src.pipe(createGunzip())
  if (c === 'zstd') {
    // Loaded lazily: a native module most builds never need.
    const out = new Readable({ read () {} })
    void import('zstd-napi').then(({ DecompressStream }) => { src.pipe(new DecompressStream()).on('data', (d: Buffer) => out.push(d)).on('end', () => out.push(null)).on('error', (e: Error) => out.destroy(e)) })
    return out
  }
  const tool = c === 'bzip2' ? 'bzip2' : 'xz'
  const child = spawn(tool, ['-dc'], { stdio: ['pipe', 'pipe', 'ignore'] })
  child.on('error', (err) => child.stdout.destroy(new TsbuildError('MISSING_DEPENDENCY', `cannot decompress ${path}: ${tool} is not installed`, { cause: err, hint: 'apt-get install bzip2 xz-utils' })))
  src.pipe(child.stdin)
  return child.stdout
}

/**
 * Extract a local archive into `dest` inside `root`. Each entry is resolved
 * inside the root, so neither `../` names nor symlinks planted by the archive
 * itself can place a file outside it.
 */
export async function unpackArchive (archive: string, root: string, dest: string, owner: Owner | undefined): Promise<void> {
  const compression = await detectArchive(archive)
  if (compression === undefined) throw new Error(`${archive} is not an archive`)
  const extract = loadTar().extract()
  const dirTimes: Array<[string, Date]> = []
  const source = decompressed(archive, compression)
  source.on('error', (err) => extract.destroy(err))
  source.pipe(extract as unknown as NodeJS.WritableStream)
  try {
    for await (const entry of extract) {
      await handleEntry(entry.header, entry as unknown as NodeJS.ReadableStream & AsyncIterable<Buffer>, root, dest, owner, dirTimes)
    }
  } catch (err) {
    source.destroy()
    if (err instanceof TsbuildError) throw err
    throw new TsbuildError('IO', `cannot extract ${posix.basename(archive)}: ${(err as Error).message}`, { cause: err })
  }
  for (const [p, t] of dirTimes.reverse()) await lutimes(p, t, t).catch(() => {})
}

async function handleEntry (h: tar.Header, stream: NodeJS.ReadableStream & AsyncIterable<Buffer>, root: string, dest: string, owner: Owner | undefined, dirTimes: Array<[string, Date]>): Promise<void> {
  const name = posix.join(dest, h.name)
  const parent = await resolveInRoot(root, posix.dirname(name))
  await mkdir(parent, { recursive: true })
  const target = posix.join(parent, posix.basename(name))
  const uid = owner?.uid ?? h.uid ?? 0
  const gid = owner?.gid ?? h.gid ?? 0
  const mode = (h.mode ?? 0o644) & 0o7777
  const mtime = h.mtime ?? new Date(0)
  const existing = await lstat(target).catch(() => undefined)
  if (h.type === 'directory') {
    if (existing !== undefined && !existing.isDirectory()) await rm(target, { force: true })
    if (existing === undefined || !existing.isDirectory()) await mkdir(target)
    await lchown(target, uid, gid); await chmod(target, mode)
    dirTimes.push([target, mtime])
    stream.resume()
    return
  }
  if (existing !== undefined) await rm(target, { recursive: true, force: true })
  if (h.type === 'file' || h.type === 'contiguous-file') {
    const fh = await open(target, 'wx', mode)
    try { for await (const chunk of stream) await fh.write(chunk as Buffer) } finally { await fh.close() }
  } else if (h.type === 'symlink') {
    await symlink(h.linkname ?? '', target)
    stream.resume()
  } else if (h.type === 'link') {
    await link(await resolveInRoot(root, posix.join(dest, h.linkname ?? ''), { followFinal: false }), target)
    stream.resume()
    return
  } else {
    stream.resume() // devices and fifos are skipped: ADD runs unprivileged semantics here
    return
  }
  await lchown(target, uid, gid)
  if (h.type !== 'symlink') await chmod(target, mode)
  await lutimes(target, mtime, mtime)
}
