import { lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs'
import { realpath } from 'node:fs/promises'
import path from 'node:path'
import type { Digest } from '../../common/digest.js'
import { TsbuildError } from '../../common/errors.js'
import { joinRel, parentOf } from './cleanPath.js'
import { hashFiles, type HashJob } from './hashFiles.js'
import { PatternMatcher, type ParentMatches } from './patternMatcher.js'
import { DEFAULT_RACY_WINDOW_MS, StatCache, type StatKey } from './statCache.js'
import type { ContextSnapshot, EntryType, FileRecord, ScanStats } from './types.js'

export interface ScanOptions {
  /** .dockerignore-style patterns; matching entries are left out. */
  excludePatterns?: readonly string[]
  /** When given, only entries matching one of these (or below a match) are kept. */
  includePatterns?: readonly string[]
  /** Persist the stat cache under `<stateDir>/contexts/`; without it the cache lives only for this scan. */
  stateDir?: string
  /**
   * `'root'` records every entry as 0:0, as BuildKit does for a local source
   * (the client's owners mean nothing inside the image); `'keep'` records the
   * host's uid/gid.
   */
  ownership?: 'keep' | 'root'
  /** Parallel file reads while hashing. */
  concurrency?: number
  /** See StatCache; tests shorten it. */
  racyWindowMs?: number
  signal?: AbortSignal
}

// Stat work is synchronous (much cheaper per file than a promise each); the
// walk yields to the event loop after this many entries.
const ENTRIES_PER_SLICE = 2000

interface PendingDir { record: FileRecord; isEmitted: boolean }

/**
 * Walk `root` and return every selected entry with its metadata and, for
 * files, a content digest — reading only files the stat cache cannot vouch
 * for. Symlinks are recorded, never followed. An excluded directory is
 * walked only when an exception pattern may select something below it, and
 * is then kept (with its own metadata) only as the parent of what was selected.
 */
export async function scanContext (root: string, opts: ScanOptions = {}): Promise<ContextSnapshot> {
  const startedAt = Date.now()
  let realRoot: string
  try {
    realRoot = await realpath(path.resolve(root))
  } catch (err) {
    throw new TsbuildError('NOT_FOUND', `build context ${root} does not exist or cannot be read: ${(err as Error).message}`, { cause: err })
  }
  const rootStat = lstatOrUndefined(realRoot, '')!
  if (!rootStat.isDirectory()) throw new TsbuildError('NOT_FOUND', `build context ${root} is not a directory`)

  const racyWindowMs = opts.racyWindowMs ?? DEFAULT_RACY_WINDOW_MS
  // Read while the walk runs: the walk is synchronous, the read is not.
  const loadingCache = opts.stateDir !== undefined
    ? StatCache.load(opts.stateDir, realRoot, racyWindowMs)
    : Promise.resolve(StatCache.ephemeral(realRoot, racyWindowMs))
  const exclude = new PatternMatcher(opts.excludePatterns ?? [])
  const include = new PatternMatcher(opts.includePatterns ?? [])
  const isRootOwned = opts.ownership === 'root'
  const records = new Map<string, FileRecord>()
  // Selected files, their digests filled in after the walk (the records are ours until returned).
  const files: Array<{ record: { -readonly [K in keyof FileRecord]: FileRecord[K] }; st: StatKey }> = []
  // Filled as entries are selected; a directory's names arrive sorted, except excluded parents emitted late.
  const children = new Map<string, string[]>([['', []]])
  const select = (record: FileRecord): void => {
    records.set(record.path, record)
    if (record.path === '') return
    if (record.type === 'dir') children.set(record.path, [])
    children.get(parentOf(record.path))!.push(record.path.slice(record.path.lastIndexOf('/') + 1))
  }
  const pendingByPath = new Map<string, PendingDir>()

  const toRecord = (rel: string, st: Stats, type: EntryType, linkTarget?: string): FileRecord => ({
    path: rel,
    type,
    mode: st.mode & 0o7777,
    uid: isRootOwned ? 0 : st.uid,
    gid: isRootOwned ? 0 : st.gid,
    size: type === 'file' ? st.size : 0,
    ...(linkTarget !== undefined ? { linkTarget } : {}),
    ...(type === 'file' ? { seen: { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino } } : {}),
  })
  records.set('', toRecord('', rootStat, 'dir'))

  // Emit excluded-but-walked ancestors of a selected entry, outermost first.
  const emitAncestors = (rel: string): void => {
    const chain: PendingDir[] = []
    for (let p = parentOf(rel); p !== ''; p = parentOf(p)) {
      const pending = pendingByPath.get(p)
      if (pending === undefined || pending.isEmitted) break
      chain.push(pending)
    }
    for (let i = chain.length - 1; i >= 0; i--) {
      chain[i]!.isEmitted = true
      select(chain[i]!.record)
    }
  }

  interface Frame { rel: string; excl: ParentMatches; incl: ParentMatches }
  const stack: Frame[] = [{ rel: '', excl: [], incl: [] }]
  let sinceYield = 0
  while (stack.length > 0) {
    const frame = stack.pop()!
    const dirAbs = frame.rel === '' ? realRoot : path.join(realRoot, frame.rel)
    const dirPrefix = dirAbs.endsWith('/') ? dirAbs : `${dirAbs}/`
    let names: string[]
    try {
      names = readdirSync(dirAbs)
    } catch (err) {
      throw new TsbuildError('IO', `cannot list context directory ${dirAbs}: ${(err as Error).message}`, { cause: err })
    }
    names.sort()
    const subdirs: Frame[] = []
    for (const name of names) {
      const rel = joinRel(frame.rel, name)
      const abs = dirPrefix + name // readdir names have no slashes and are never . or ..
      const st = lstatOrUndefined(abs, name)
      if (st === undefined) {
        // A name that is not valid UTF-8 comes back from readdir with U+FFFD
        // in it and cannot be looked up: fine when it is left out anyway.
        const ex = exclude.isEmpty ? undefined : exclude.match(rel, frame.excl)
        const inc = include.isEmpty ? undefined : include.match(rel, frame.incl)
        if ((ex?.isMatch ?? false) || (inc !== undefined && !inc.isMatch && !include.mayMatchAtOrBelow(rel))) continue
        throw new TsbuildError('IO', `context path ${JSON.stringify(rel)} has a name that is not valid UTF-8, which tsbuild cannot read`, {
          hint: 'rename it, or leave it out with .dockerignore (a pattern such as the part of its name before the odd bytes, followed by *)',
        })
      }
      const type: EntryType | undefined = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : undefined
      if (type === undefined) continue

      const ex = exclude.isEmpty ? undefined : exclude.match(rel, frame.excl)
      const inc = include.isEmpty ? undefined : include.match(rel, frame.incl)
      const isSelected = !(ex?.isMatch ?? false) && (inc?.isMatch ?? true)
      if (!isSelected) {
        const mayWalk = type === 'dir' &&
          (!(ex?.isMatch ?? false) || exclude.mayIncludeBelow(rel)) &&
          (inc === undefined || inc.isMatch || include.mayMatchAtOrBelow(rel))
        if (mayWalk) {
          pendingByPath.set(rel, { record: toRecord(rel, st, 'dir'), isEmitted: false })
          subdirs.push({ rel, excl: ex?.matches ?? [], incl: inc?.matches ?? [] })
        }
        continue
      }
      emitAncestors(rel)
      const record = toRecord(rel, st, type, type === 'symlink' ? readlinkSync(abs) : undefined)
      select(record)
      if (type === 'file') files.push({ record, st })
      if (type === 'dir') subdirs.push({ rel, excl: ex?.matches ?? [], incl: inc?.matches ?? [] })
    }
    // Push in reverse so directories are visited in name order.
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]!)
    sinceYield += names.length
    if (sinceYield >= ENTRIES_PER_SLICE) {
      sinceYield = 0
      await new Promise((resolve) => setImmediate(resolve))
      opts.signal?.throwIfAborted()
    }
  }

  const cache = await loadingCache
  const stats: ScanStats = { entries: records.size, filesHashed: 0, bytesHashed: 0, statCacheHits: 0 }
  const jobs: HashJob[] = []
  const jobFiles: typeof files = []
  for (const f of files) {
    const cached = cache.lookup(f.record.path, f.st)
    if (cached !== undefined) {
      f.record.digest = cached
      stats.statCacheHits++
    } else {
      jobs.push({ file: path.join(realRoot, f.record.path), size: f.st.size })
      jobFiles.push(f)
    }
  }
  const hashed = await hashFiles(jobs, { concurrency: opts.concurrency ?? 16, ...(opts.signal ? { signal: opts.signal } : {}) })
  for (let i = 0; i < jobs.length; i++) {
    const f = jobFiles[i]!
    f.record.digest = hashed[i]!
    cache.store(f.record.path, f.st, hashed[i]!, startedAt)
    stats.filesHashed++
    stats.bytesHashed += jobs[i]!.size
  }
  // Every scanned file now has an entry, so an equal count means there is nothing else to drop.
  if (exclude.isEmpty && include.isEmpty && cache.size !== files.length) cache.retainOnly(new Set(files.map((f) => f.record.path)))
  await cache.save()

  for (const list of children.values()) list.sort()
  return { root: realRoot, records, children, stats, startedAt }
}

/** lstat, or undefined for a name readdir could only return with U+FFFD in it (not valid UTF-8). */
function lstatOrUndefined (abs: string, name: string): Stats | undefined {
  try {
    return lstatSync(abs)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && name.includes('\uFFFD')) return undefined
    throw new TsbuildError('IO', `cannot stat context path ${abs}: ${(err as Error).message}`, { cause: err })
  }
}
