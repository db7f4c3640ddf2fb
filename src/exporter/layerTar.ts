import { createReadStream } from 'node:fs'
import { lstat, readFile, readdir, readlink } from 'node:fs/promises'
import type { Stats } from 'node:fs'
import { join } from 'node:path'
import { END_OF_ARCHIVE, encodeTarHeader, tarPadding } from './tarHeader.js'
import type { TarEntry } from './tarHeader.js'
import { OVERLAY_XATTR, readXattrTree } from '../common/xattrs.js'
import type { XattrTable } from '../common/xattrs.js'

export const WHITEOUT_PREFIX = '.wh.'
export const OPAQUE_WHITEOUT = '.wh..wh..opq'

export interface LayerTarOptions {
  /** Clamp every mtime to this (seconds since the epoch), for reproducible layers. */
  sourceDateEpoch?: number
  /** Read size for file bodies. */
  readChunkSize?: number
}

interface PlannedEntry {
  entry: TarEntry
  /** Host path of a regular file's body. */
  source?: string
  /** `dev:ino` of a multiply-linked non-directory, until hard links are resolved. */
  inode?: string
}

/**
 * Stream a layer directory (an overlayfs upperdir) as a deterministic OCI
 * layer tar: entries in byte order of their archive paths (so parents come
 * before children), overlay whiteouts (char device 0/0) as `.wh.<name>`,
 * opaque directories as `.wh..wh..opq`, hard links as Link entries to the
 * first path of the inode, xattrs as PAX records without overlay's own,
 * numeric owners only. The same tree gives the same bytes whatever the
 * creation order or (above the clamp) the mtimes.
 */
export async function * layerTarStream (dir: string, opts: LayerTarOptions = {}): AsyncGenerator<Buffer> {
  const planned = await planLayerEntries(dir, opts)
  const readSize = opts.readChunkSize ?? 1024 * 1024
  // Small bodies are read whole and a few files ahead: a stream per file costs
  // more than the file itself when a layer holds tens of thousands of them.
  const ahead = new Map<number, Promise<Buffer>>()
  let nextAhead = 0
  const readAhead = (from: number): void => {
    nextAhead = Math.max(nextAhead, from)
    while (ahead.size < READ_AHEAD && nextAhead < planned.length) {
      const p = planned[nextAhead]!
      if (p.source !== undefined && p.entry.size > 0 && p.entry.size <= SMALL_FILE) {
        const body = readFile(p.source)
        body.catch(() => undefined) // awaited in order below
        ahead.set(nextAhead, body)
      }
      nextAhead++
    }
  }
  for (let i = 0; i < planned.length; i++) {
    const { entry, source } = planned[i]!
    readAhead(i)
    yield encodeTarHeader(entry)
    if (source === undefined || entry.size === 0) continue
    const small = ahead.get(i)
    ahead.delete(i)
    let read = 0
    if (small !== undefined) {
      const body = await small
      read = body.length
      if (read === entry.size) yield body
    } else {
      for await (const chunk of createReadStream(source, { highWaterMark: readSize, end: entry.size - 1 }) as AsyncIterable<Buffer>) {
        read += chunk.length
        yield chunk
      }
    }
    if (read !== entry.size) throw new Error(`layer file ${source} changed size while being archived (${read} of ${entry.size} bytes)`)
    yield tarPadding(entry.size)
  }
  yield END_OF_ARCHIVE
}

const SMALL_FILE = 256 * 1024
const READ_AHEAD = 16

/** Walk `dir` and decide every archive entry, sorted; no file bodies are read. */
export async function planLayerEntries (dir: string, opts: LayerTarOptions = {}): Promise<PlannedEntry[]> {
  const xattrs = await readXattrTree(dir)
  const epoch = opts.sourceDateEpoch
  const clamp = (st: Stats): number => {
    const t = Math.floor(st.mtimeMs / 1000)
    return epoch !== undefined && t > epoch ? epoch : t
  }
  const planned: PlannedEntry[] = []
  const stack = ['']
  while (stack.length > 0) {
    const rel = stack.pop()!
    const names = await readdir(join(dir, rel))
    const stats = await Promise.all(names.map(async (name) => await lstat(join(dir, rel === '' ? name : `${rel}/${name}`))))
    for (const [i, name] of names.entries()) {
      const path = rel === '' ? name : `${rel}/${name}`
      const st = stats[i]!
      const base = { mode: st.mode, uid: st.uid, gid: st.gid, size: 0, mtime: clamp(st) }
      if (st.isCharacterDevice() && st.rdev === 0) {
        // An overlay whiteout: the lower layers' `name` is deleted.
        const wh = rel === '' ? `${WHITEOUT_PREFIX}${name}` : `${rel}/${WHITEOUT_PREFIX}${name}`
        planned.push({ entry: { ...base, name: wh, type: 'file', mode: 0o600 } })
        continue
      }
      const attrs = keptXattrs(xattrs, path)
      const entry: TarEntry = { ...base, name: path, type: 'file', ...(attrs !== undefined ? { xattrs: attrs } : {}) }
      if (st.isDirectory()) {
        entry.type = 'directory'
        stack.push(path)
        if (isOpaque(xattrs, path)) {
          planned.push({ entry: { ...base, name: `${path}/${OPAQUE_WHITEOUT}`, type: 'file', mode: 0o600 } })
        }
      } else if (st.isFile()) {
        entry.size = st.size
        planned.push({ entry, source: join(dir, path), ...(st.nlink > 1 ? { inode: `${st.dev}:${st.ino}` } : {}) })
        continue
      } else if (st.isSymbolicLink()) {
        entry.type = 'symlink'
        entry.linkname = await readlink(join(dir, path))
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        entry.type = st.isCharacterDevice() ? 'char' : 'block'
        entry.devmajor = major(st.rdev)
        entry.devminor = minor(st.rdev)
      } else if (st.isFIFO()) {
        entry.type = 'fifo'
      } else {
        continue // sockets cannot be archived; BuildKit skips them too
      }
      planned.push({ entry, ...(st.nlink > 1 && !st.isDirectory() ? { inode: `${st.dev}:${st.ino}` } : {}) })
    }
  }
  planned.sort((a, b) => Buffer.compare(Buffer.from(a.entry.name), Buffer.from(b.entry.name)))
  linkHardlinks(planned)
  return planned
}

/** The first path of a multiply-linked inode carries the body; later ones become Link entries. */
function linkHardlinks (planned: PlannedEntry[]): void {
  const firstPath = new Map<string, string>()
  for (const p of planned) {
    if (p.inode === undefined) continue
    const first = firstPath.get(p.inode)
    if (first === undefined) {
      firstPath.set(p.inode, p.entry.name)
    } else {
      p.entry.type = 'link'
      p.entry.linkname = first
      p.entry.size = 0
      delete p.source
    }
    delete p.inode
  }
}


function keptXattrs (table: XattrTable, path: string): Map<string, Buffer> | undefined {
  const all = table.get(path)
  if (all === undefined) return undefined
  const kept = new Map([...all].filter(([k]) => !OVERLAY_XATTR.test(k)))
  return kept.size > 0 ? kept : undefined
}

function isOpaque (table: XattrTable, path: string): boolean {
  const attrs = table.get(path)
  const v = attrs?.get('trusted.overlay.opaque') ?? attrs?.get('user.overlay.opaque')
  return v !== undefined && v.toString() === 'y'
}

// Linux dev_t encoding (glibc's gnu_dev_major/minor).
function major (dev: number): number {
  return Number((BigInt(dev) >> 8n) & 0xfffn) | Number((BigInt(dev) >> 32n) & ~0xfffn)
}
function minor (dev: number): number {
  return Number(BigInt(dev) & 0xffn) | Number((BigInt(dev) >> 12n) & ~0xffn)
}
