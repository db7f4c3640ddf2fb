import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { sha256, digestHex, type Digest } from '../../common/digest.js'

/**
 * Persisted (path, size, mtime, ctime, inode) → content digest for one context
 * directory, at `<stateDir>/contexts/<sha256 of the absolute path>.json`.
 *
 * An entry is trusted only when every stat field is unchanged AND the file's
 * last change (max of mtime, ctime) was at least `racyWindowMs` before the
 * entry was hashed: a write landing in the same timestamp tick as our read
 * would otherwise leave identical stat data over different bytes (the
 * racy-git problem). ctime and inode catch content edits that restore size
 * and mtime with utimes (moby/buildkit#4950).
 */
export interface StatKey {
  size: number
  mtimeMs: number
  ctimeMs: number
  ino: number
}


type WireEntry = [size: number, mtimeMs: number, ctimeMs: number, ino: number, hex: string, hashedAt: number]
interface WireFile { version: 1; root: string; entries: Record<string, WireEntry> }

export const DEFAULT_RACY_WINDOW_MS = 2000

/**
 * A stat taken at `at` cannot vouch for the bytes: the file changed (mtime or
 * ctime) within `windowMs` before it, so an edit in the same timestamp tick
 * would leave the stat as it was.
 */
export function isRacyStat (mtimeMs: number, ctimeMs: number, at: number, windowMs: number = DEFAULT_RACY_WINDOW_MS): boolean {
  return Math.max(mtimeMs, ctimeMs) + windowMs > at
}

export class StatCache {
  // Kept in the wire form: a no-op scan looks up every entry once, and building
  // an object (and a digest string) per entry up front costs more than that.
  private readonly entries = new Map<string, WireEntry>()
  private isDirty = false

  private constructor (readonly file: string | undefined, readonly root: string, private readonly racyWindowMs: number) {}

  /** An in-memory cache that is never persisted. */
  static ephemeral (root: string, racyWindowMs = DEFAULT_RACY_WINDOW_MS): StatCache {
    return new StatCache(undefined, root, racyWindowMs)
  }

  /** Load the cache for `root`; a missing or unreadable file starts empty (it is only a cache). */
  static async load (stateDir: string, root: string, racyWindowMs = DEFAULT_RACY_WINDOW_MS): Promise<StatCache> {
    const file = path.join(stateDir, 'contexts', `${digestHex(sha256(root))}.json`)
    const cache = new StatCache(file, root, racyWindowMs)
    let wire: WireFile | undefined
    try {
      wire = JSON.parse(await readFile(file, 'utf8')) as WireFile
    } catch {
      return cache
    }
    if (wire.version !== 1 || wire.root !== root || typeof wire.entries !== 'object') return cache
    for (const p in wire.entries) {
      const e = wire.entries[p]
      if (Array.isArray(e) && e.length === 6) cache.entries.set(p, e)
    }
    return cache
  }

  /** The cached digest when `stat` is unchanged and was not racy at hashing time. */
  lookup (p: string, stat: StatKey): Digest | undefined {
    const e = this.entries.get(p)
    if (e === undefined) return undefined
    if (e[0] !== stat.size || e[1] !== stat.mtimeMs || e[2] !== stat.ctimeMs || e[3] !== stat.ino) return undefined
    if (isRacyStat(e[1], e[2], e[5], this.racyWindowMs)) return undefined
    return `sha256:${e[4]}` as Digest
  }

  /** Record a digest computed from reading a file whose stat was taken before `hashedAt`. */
  store (p: string, stat: StatKey, digest: Digest, hashedAt: number): void {
    this.entries.set(p, [stat.size, stat.mtimeMs, stat.ctimeMs, stat.ino, digestHex(digest), hashedAt])
    this.isDirty = true
  }

  /** Drop entries for paths not in `keep` (after a full walk that saw every file). */
  retainOnly (keep: ReadonlySet<string>): void {
    for (const p of this.entries.keys()) {
      if (!keep.has(p)) { this.entries.delete(p); this.isDirty = true }
    }
  }

  get size (): number {
    return this.entries.size
  }

  /** Write atomically (temp file, fsync, rename) when anything changed. */
  async save (): Promise<void> {
    if (this.file === undefined || !this.isDirty) return
    const wire: WireFile = { version: 1, root: this.root, entries: {} }
    for (const [p, e] of this.entries) wire.entries[p] = e
    await mkdir(path.dirname(this.file), { recursive: true })
    const tmp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
    const fh = await open(tmp, 'w', 0o600)
    try {
      await fh.writeFile(JSON.stringify(wire))
      await fh.sync()
    } finally {
      await fh.close()
    }
    try {
      await rename(tmp, this.file)
    } catch (err) {
      await unlink(tmp).catch(() => {})
      throw err
    }
    this.isDirty = false
  }
}
