import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { chmod, lchown, link, lstat, lutimes, mkdir, rm, symlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'
import { createRequire } from 'node:module'
import type tar from 'tar-stream'
import type * as Zstd from 'zstd-napi'
import type { Digest } from '../../common/digest.js'
import { TsbuildError } from '../../common/errors.js'
import { createTarExtract, paxXattrs } from '../../common/tarExtract.js'
import { makeNode, makeWhiteout, OPAQUE_XATTR, setXattr } from './fsext.js'
import { cleanRelative, resolveInRoot } from './rootPath.js'
import type { SnapshotInfo, SnapshotName } from './types.js'
import type { Snapshotter } from './snapshotter.js'

// Loaded on first use: a no-op rebuild never reads a tar, and loading zstd-napi costs ~20 ms at start.
const lazyRequire = createRequire(import.meta.url)
const loadZstd = (): typeof Zstd => lazyRequire('zstd-napi') as typeof Zstd

const WHITEOUT_PREFIX = '.wh.'
const OPAQUE_MARKER = '.wh..wh..opq'

export interface ApplyResult {
  /** sha256 of the uncompressed tar: the layer's diffID. */
  diffID: Digest
}

/**
 * Extract an OCI layer tar (gzip, zstd or plain, told apart by magic bytes)
 * into `root` in overlay diff format: `.wh.x` becomes a char 0/0 device `x`,
 * `.wh..wh..opq` marks its directory opaque. Every path is resolved inside
 * `root` (symlinks re-anchored there, `..` clamped), and an entry replaces
 * rather than writes through an existing link, so no entry lands outside.
 */
export async function applyLayer (stream: Readable | AsyncIterable<Uint8Array>, root: string, opts: { signal?: AbortSignal } = {}): Promise<ApplyResult> {
  const hash = createHash('sha256')
  const hasher = new Transform({ transform (chunk: Buffer, _enc, cb) { hash.update(chunk); cb(null, chunk) } })
  const extract = createTarExtract()
  const source = await decompressed(stream)
  const feeding = pipeline(source, hasher, extract, opts.signal === undefined ? {} : { signal: opts.signal })
  // A cancel can reject this while an entry is being written, before anything awaits it; the
  // rejection is still seen below (the loop fails, or `await feeding` does), never left unhandled.
  feeding.catch(() => undefined)
  const dirTimes: Array<{ path: string; mtime: Date }> = []
  try {
    for await (const entry of extract) {
      await applyEntry(root, entry.header, entry as unknown as Readable, dirTimes)
      entry.resume()
    }
    await feeding
  } catch (err) {
    source.destroy()
    throw err
  }
  // Children change their directory's mtime, so directories get theirs last, deepest first.
  dirTimes.sort((a, b) => b.path.length - a.path.length)
  for (const d of dirTimes) await lutimes(d.path, d.mtime, d.mtime)
  return { diffID: `sha256:${hash.digest('hex')}` as Digest }
}

/**
 * Unpack a layer once per diffID into a committed snapshot named by the
 * diffID; concurrent and repeated calls end with the one snapshot. The
 * stream is verified against `diffID` before the snapshot is committed.
 */
export async function unpackLayer (snapshotter: Snapshotter, diffID: Digest, stream: Readable | AsyncIterable<Uint8Array>, opts: { signal?: AbortSignal } = {}): Promise<SnapshotInfo> {
  const name = diffID as string as SnapshotName
  const key = `${snapshotter.root}\0${diffID}`
  let running = unpacking.get(key)
  if (running === undefined) {
    running = snapshotter.createCommitted(name, async (fsDir) => {
      const { diffID: got } = await applyLayer(stream, fsDir, opts)
      if (got !== diffID) throw new TsbuildError('DIGEST_MISMATCH', `layer content has diffID ${got}, expected ${diffID}`)
    }).finally(() => unpacking.delete(key))
    unpacking.set(key, running)
  } else if (stream instanceof Readable) {
    stream.destroy()
  }
  return await running
}

const unpacking = new Map<string, Promise<SnapshotInfo>>()

async function decompressed (stream: Readable | AsyncIterable<Uint8Array>): Promise<Readable> {
  const it = stream[Symbol.asyncIterator]()
  const head: Buffer[] = []
  let size = 0
  while (size < 4) {
    const next = await it.next()
    if (next.done === true) break
    head.push(Buffer.from(next.value)); size += next.value.length
  }
  const first = Buffer.concat(head)
  const rest = Readable.from((async function * () { if (first.length > 0) yield first; for (let n = await it.next(); n.done !== true; n = await it.next()) yield n.value })())
  if (first[0] === 0x1f && first[1] === 0x8b) return rest.pipe(createGunzip())
  if (first.readUInt32LE(0) === 0xfd2fb528) return rest.pipe(new (loadZstd().DecompressStream)())
  return rest
}

async function applyEntry (root: string, header: tar.Header, body: Readable, dirTimes: Array<{ path: string; mtime: Date }>): Promise<void> {
  const rel = cleanRelative(header.name)
  const base = basename(rel)
  const parent = await resolveInRoot(root, dirname(rel) === '.' ? '' : dirname(rel), { followFinal: true })
  if (rel !== '') await mkdir(parent, { recursive: true })

  if (base === OPAQUE_MARKER) {
    await setXattr(parent, OPAQUE_XATTR, 'y')
    return
  }
  if (base.startsWith(WHITEOUT_PREFIX)) {
    const hidden = base.slice(WHITEOUT_PREFIX.length)
    if (hidden === '' || hidden === '.' || hidden === '..') throw new TsbuildError('PATH_ESCAPE', `invalid whiteout entry ${header.name} in layer`)
    const target = join(parent, hidden)
    await rm(target, { recursive: true, force: true })
    await makeWhiteout(target)
    return
  }

  const target = rel === '' ? root : join(parent, base)
  const existing = await lstat(target).catch(() => undefined)
  const type = header.type ?? 'file'
  if (existing !== undefined && !(type === 'directory' && existing.isDirectory())) {
    await rm(target, { recursive: true, force: true })
  }
  const mtime = header.mtime ?? new Date(0)
  switch (type) {
    case 'directory':
      if (existing === undefined || !existing.isDirectory()) await mkdir(target)
      dirTimes.push({ path: target, mtime })
      break
    case 'file':
    case 'contiguous-file':
      await pipeline(body, createWriteStream(target, { flags: 'wx', mode: 0o600 }))
      break
    case 'symlink':
      await symlink(header.linkname ?? '', target)
      break
    case 'link': {
      const linkRel = cleanRelative(header.linkname ?? '')
      const linkParent = await resolveInRoot(root, dirname(linkRel) === '.' ? '' : dirname(linkRel), { followFinal: true })
      const source = join(linkParent, basename(linkRel))
      const st = await lstat(source).catch(() => undefined)
      if (linkRel === '' || st === undefined || st.isDirectory()) {
        throw new TsbuildError('NOT_FOUND', `hard link ${header.name} points to ${header.linkname ?? ''}, which is not a file earlier in the layer`)
      }
      await link(source, target)
      return // a hard link shares its target's metadata
    }
    case 'character-device':
    case 'block-device':
    case 'fifo':
      await makeNode(target, type === 'fifo' ? 'p' : type === 'character-device' ? 'c' : 'b', header.devmajor ?? 0, header.devminor ?? 0)
      break
    default:
      throw new TsbuildError('UNSUPPORTED_MEDIA_TYPE', `unsupported tar entry type ${type} for ${header.name} in layer`)
  }
  await applyMetadata(target, header, type === 'symlink')
  if (type !== 'directory') await lutimes(target, mtime, mtime)
}

async function applyMetadata (target: string, header: tar.Header, isSymlink: boolean): Promise<void> {
  await lchown(target, header.uid ?? 0, header.gid ?? 0)
  // chown clears set-id bits, so the mode goes on after it.
  if (!isSymlink) await chmod(target, (header.mode ?? 0o644) & 0o7777)
  for (const [name, value] of paxXattrs(header)) await setXattr(target, name, value)
}
