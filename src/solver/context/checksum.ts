import { createHash } from 'node:crypto'
import { sha256, type Digest } from '../../common/digest.js'
import { TsbuildError } from '../../common/errors.js'
import { joinRel } from './cleanPath.js'
import { hasGlobChars } from './pattern.js'
import { PatternMatcher, type ParentMatches } from './patternMatcher.js'
import { matchInSnapshot, resolveInSnapshot } from './resolveInSnapshot.js'
import { scanContext, type ScanOptions } from './scanContext.js'
import type { ContextSnapshot, FileRecord } from './types.js'

export interface ChecksumOptions {
  /** Follow a symlink named by the selector itself (inside the root). Default true, as Dockerfile COPY does. */
  followSymlinks?: boolean
  /** Treat `*`, `?`, `[` in the selector as globs. Default true. */
  wildcard?: boolean
  /** A wildcard matching nothing yields the empty digest instead of NOT_FOUND. */
  allowEmptyWildcard?: boolean
  /** COPY --parents style filters, relative to each selected path. */
  includePatterns?: readonly string[]
  /** COPY --exclude filters, relative to each selected path. */
  excludePatterns?: readonly string[]
  /** How to scan when `root` is a directory path rather than a snapshot. */
  scan?: ScanOptions
}

/**
 * Digest of exactly what a COPY of `selector` reads from `root`: content,
 * permission bits, uid/gid, symlink targets and directory structure — never
 * times. A directory covers its whole (filtered) subtree; a symlink is hashed
 * as a link unless it is the selector itself and `followSymlinks` is set.
 * A wildcard selector hashes every match with its path, so renaming a match
 * changes the digest. Throws NOT_FOUND when nothing is selected.
 */
export async function checksum (root: string | ContextSnapshot, selector: string, opts: ChecksumOptions = {}): Promise<Digest> {
  const snapshot = typeof root === 'string' ? await scanContext(root, opts.scan) : root
  return checksumSnapshot(snapshot, selector, opts)
}

export function checksumSnapshot (snapshot: ContextSnapshot, selector: string, opts: ChecksumOptions = {}): Digest {
  const followSymlinks = opts.followSymlinks ?? true
  const filter = makeFilter(opts)
  if ((opts.wildcard ?? true) && hasGlobChars(selector)) {
    const matches = matchInSnapshot(snapshot, selector, { followSymlinks })
    const hash = createHash('sha256')
    let count = 0
    for (const m of matches) {
      const d = entryDigest(snapshot, m.record, '', filter, [], [])
      if (d === undefined) continue
      hash.update(`${m.path}\0${d}\0`)
      count++
    }
    if (count === 0) {
      if (opts.allowEmptyWildcard ?? false) return sha256('')
      throw notFound(snapshot, selector)
    }
    return `sha256:${hash.digest('hex')}` as Digest
  }
  const record = resolveInSnapshot(snapshot, selector, { followSymlinks })
  if (record === undefined) throw notFound(snapshot, selector)
  return entryDigest(snapshot, record, '', filter, [], []) ?? sha256('')
}

interface Filter { include: PatternMatcher; exclude: PatternMatcher }

function makeFilter (opts: ChecksumOptions): Filter | undefined {
  const include = new PatternMatcher(opts.includePatterns ?? [])
  const exclude = new PatternMatcher(opts.excludePatterns ?? [])
  return include.isEmpty && exclude.isEmpty ? undefined : { include, exclude }
}

const unfilteredDigests = new WeakMap<ContextSnapshot, Map<string, Digest>>()

/**
 * `rel` is the path relative to the selection, which filters see. Returns
 * undefined when the filter leaves nothing of this entry. A directory left
 * out by the filter still counts (header included) when something below it
 * is kept, as its parent of the kept entry.
 */
function entryDigest (snapshot: ContextSnapshot, record: FileRecord, rel: string, filter: Filter | undefined,
  parentEx: ParentMatches, parentInc: ParentMatches): Digest | undefined {
  let memo: Map<string, Digest> | undefined
  if (filter === undefined) {
    memo = unfilteredDigests.get(snapshot)
    if (memo === undefined) unfilteredDigests.set(snapshot, memo = new Map())
    const hit = memo.get(record.path)
    if (hit !== undefined) return hit
  }
  let isSelected = true
  let ex = parentEx
  let inc = parentInc
  if (filter !== undefined && rel !== '') {
    const e = filter.exclude.isEmpty ? undefined : filter.exclude.match(rel, parentEx)
    const i = filter.include.isEmpty ? undefined : filter.include.match(rel, parentInc)
    isSelected = !(e?.isMatch ?? false) && (i?.isMatch ?? true)
    ex = e?.matches ?? []
    inc = i?.matches ?? []
  }
  let digest: Digest | undefined
  if (record.type !== 'dir') {
    digest = isSelected ? sha256(headerOf(record)) : undefined
  } else {
    // One string, one hash update: a call into the hash per child costs more than the concatenation.
    let text = headerOf(record) + '\0'
    let kept = 0
    for (const name of snapshot.children.get(record.path) ?? []) {
      const child = snapshot.records.get(joinRel(record.path, name))!
      // Hot path: a leaf's header goes straight into its directory's hash, no digest object per file.
      const d = child.type !== 'dir' && filter === undefined ? headerOf(child) : entryDigest(snapshot, child, joinRel(rel, name), filter, ex, inc)
      if (d === undefined) continue
      text += `${name}\0${d}\0`
      kept++
    }
    digest = isSelected || kept > 0 || rel === '' ? sha256(text) : undefined
  }
  if (memo !== undefined && digest !== undefined) memo.set(record.path, digest)
  return digest
}

function headerOf (r: FileRecord): string {
  const owner = `${r.uid}:${r.gid}`
  switch (r.type) {
    case 'file': return `file ${r.mode.toString(8)} ${owner} ${r.digest ?? ''}`
    case 'dir': return `dir ${r.mode.toString(8)} ${owner}`
    // Link permission bits mean nothing on Linux; only the target is read.
    case 'symlink': return `symlink ${owner} ${r.linkTarget ?? ''}`
  }
}

function notFound (snapshot: ContextSnapshot, selector: string): TsbuildError {
  return new TsbuildError('NOT_FOUND', `${selector}: not found in build context ${snapshot.root}`, {
    hint: 'check the path and that .dockerignore does not exclude it',
  })
}
