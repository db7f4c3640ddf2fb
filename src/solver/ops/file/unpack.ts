import { spawn } from 'node:child_process'
import { createReadStream } from 'node:fs'
import { chmod, lchown, lutimes, mkdir, open, rm, symlink, link, lstat } from 'node:fs/promises'
import { posix } from 'node:path'
import { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import type tar from 'tar-stream'
import { makeNode, setXattr } from '../../../cache/snapshots/index.js'
import { TsbuildError } from '../../../common/errors.js'
import { resolveInRoot } from '../../../common/pathInRoot.js'
import { createTarExtract, paxXattrs } from '../../../common/tarExtract.js'
import { OVERLAY_XATTR } from '../../../common/xattrs.js'
import type { Owner } from './copy.js'

type Compression = 'gzip' | 'bzip2' | 'xz' | 'zstd' | 'none'

/**
 * Detect an archive by its content, as ADD does (the file name does not
 * matter): a tar, plain or compressed. A compressed file whose content is not
 * a tar (`gzip file.txt`) is not an archive; ADD copies it as it is.
 */
export async function detectArchive (path: string): Promise<Compression | undefined> {
  const fh = await open(path, 'r')
  let compression: Compression
  try {
    const buf = Buffer.alloc(512)
    const { bytesRead } = await fh.read(buf, 0, 512, 0)
    const b = buf.subarray(0, bytesRead)
    if (b[0] === 0x1f && b[1] === 0x8b) compression = 'gzip'
    else if (b.subarray(0, 3).toString('latin1') === 'BZh') compression = 'bzip2'
    else if (b.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) compression = 'xz'
    else if (b.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) compression = 'zstd'
    else return isTarHeader(b) ? 'none' : undefined
  } finally {
    await fh.close()
  }
  return isTarHeader(await firstDecompressedBlock(path, compression)) ? compression : undefined
}

/** A tar header block: `ustar` magic, or (old v7 tars) a checksum that matches. */
function isTarHeader (b: Buffer): boolean {
  if (b.length < 512) return false
  if (b.subarray(257, 262).toString('latin1') === 'ustar') return true
  const stored = Number.parseInt(b.subarray(148, 156).toString('latin1').replace(/\0.*$/s, '').trim(), 8)
  if (!Number.isFinite(stored) || b[0] === 0) return false
  let sum = 0
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : b[i]!
  return sum === stored
}

/** The first 512 bytes of the decompressed content (fewer when it is shorter, or cannot be decompressed). */
async function firstDecompressedBlock (path: string, c: Compression): Promise<Buffer> {
  const stream = decompressed(path, c)
  const parts: Buffer[] = []
  let have = 0
  try {
    for await (const chunk of stream) {
      parts.push(chunk as Buffer)
      have += (chunk as Buffer).length
      if (have >= 512) break
    }
  } catch { /* corrupt: not a tar we can read */ } finally {
    stream.destroy()
  }
  return Buffer.concat(parts).subarray(0, 512)
}

export async function isArchive (path: string): Promise<boolean> {
  return (await detectArchive(path)) !== undefined
}

function decompressed (path: string, c: Compression): Readable {
  const src = createReadStream(path)
  if (c === 'none') return src
  const out = decompressor(src, path, c)
  // Whoever stops reading early (a peek at the first block) closes the file too.
  out.on('close', () => src.destroy())
  return out
}

function decompressor (src: Readable, path: string, c: Exclude<Compression, 'none'>): Readable {
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
 * Extract a local archive into `dest` inside `root`, as Docker does: the
 * destination directory is the archive's root. A name that climbs out of it
 * (`../../etc/passwd`) is refused, and symlinks, whether planted by the
 * archive or already there, resolve with the destination as `/`, so no entry
 * lands anywhere else in the image (nor, a fortiori, on the host).
 */
export async function unpackArchive (archive: string, root: string, dest: string, owner: Owner | undefined): Promise<void> {
  const compression = await detectArchive(archive)
  if (compression === undefined) throw new Error(`${archive} is not an archive`)
  const destDir = await resolveInRoot(root, dest, { followFinal: true })
  await mkdir(destDir, { recursive: true })
  const extract = createTarExtract()
  const dirTimes: Array<[string, Date]> = []
  const source = decompressed(archive, compression)
  source.on('error', (err) => extract.destroy(err))
  source.pipe(extract as unknown as NodeJS.WritableStream)
  try {
    for await (const entry of extract) {
      await handleEntry(entry.header, entry as unknown as NodeJS.ReadableStream & AsyncIterable<Buffer>, destDir, owner, dirTimes, archive)
    }
  } catch (err) {
    source.destroy()
    if (err instanceof TsbuildError) throw err
    throw new TsbuildError('IO', `cannot extract ${posix.basename(archive)}: ${(err as Error).message}`, { cause: err })
  }
  for (const [p, t] of dirTimes.reverse()) await lutimes(p, t, t).catch(() => {})
}

/** An entry name inside the archive's root; one that climbs out of it is an error, as in Docker. */
function entryPath (name: string, archive: string): string {
  const clean = posix.normalize(`/${name}`)
  if (posix.normalize(name).startsWith('../') || posix.normalize(name) === '..') {
    throw new TsbuildError('PATH_ESCAPE', `cannot extract ${posix.basename(archive)}: entry ${JSON.stringify(name)} would be written outside the destination`)
  }
  return clean
}

async function handleEntry (h: tar.Header, stream: NodeJS.ReadableStream & AsyncIterable<Buffer>, destDir: string, owner: Owner | undefined, dirTimes: Array<[string, Date]>, archive: string): Promise<void> {
  const name = entryPath(h.name, archive)
  if (name === '/') { stream.resume(); return } // `./` itself: the destination already exists
  const parent = await resolveInRoot(destDir, posix.dirname(name))
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
    await restoreXattrs(target, h)
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
    const from = await resolveInRoot(destDir, entryPath(h.linkname ?? '', archive), { followFinal: false })
    await link(from, target).catch((err: NodeJS.ErrnoException) => {
      // Named after the archive's entries, not the host paths they were written to.
      if (err.code === 'ENOENT') throw new TsbuildError('IO', `cannot extract ${posix.basename(archive)}: ${JSON.stringify(h.name)} is a hard link to ${JSON.stringify(h.linkname ?? '')}, which the archive does not hold before it`)
      throw err
    })
    stream.resume()
    return
  } else if (h.type === 'character-device' || h.type === 'block-device' || h.type === 'fifo') {
    // A root filesystem tarball (`FROM scratch` + `ADD rootfs.tar.xz /`) may carry /dev nodes; Docker's ADD makes them.
    await makeNode(target, h.type === 'fifo' ? 'p' : h.type === 'character-device' ? 'c' : 'b', h.devmajor ?? 0, h.devminor ?? 0)
    stream.resume()
  } else {
    stream.resume() // other kinds (GNU sparse or volume headers) have nothing to make
    return
  }
  await lchown(target, uid, gid)
  if (h.type !== 'symlink') await chmod(target, mode)
  await restoreXattrs(target, h)
  await lutimes(target, mtime, mtime)
}

/**
 * The entry's extended attributes, after chown (which clears a file's
 * capabilities), as Docker's ADD restores them: ping's cap_net_raw in a
 * rootfs tarball stays. Overlay's own attributes and SELinux labels are not
 * taken, and a kind of file that cannot hold an attribute (user.* on a
 * symlink) goes without it, as in Docker.
 */
async function restoreXattrs (target: string, h: tar.Header): Promise<void> {
  for (const [name, value] of paxXattrs(h)) {
    if (OVERLAY_XATTR.test(name) || name === 'security.selinux') continue
    await setXattr(target, name, value).catch((err: unknown) => {
      if (!/not supported|not permitted/i.test(String((err as Error).message))) throw err
    })
  }
}
