import { TsbuildError } from '../../common/errors.js'
import { joinRel, parentOf, relativeInRoot } from './cleanPath.js'
import { compileGoPattern } from './goGlob.js'
import { hasGlobChars } from './pattern.js'
import type { ContextSnapshot, FileRecord } from './types.js'

const MAX_SYMLINK_HOPS = 255

/**
 * Resolve `selector` to a record the way a COPY source is resolved, entirely
 * inside the snapshot's root: `..` stops at the root, symlinks in directory
 * positions are followed (an absolute target counts from the root, a relative
 * one from the link's directory, and neither can climb out), and the final
 * symlink is followed only with `followSymlinks`. Undefined when absent.
 */
export function resolveInSnapshot (snapshot: ContextSnapshot, selector: string, opts: { followSymlinks: boolean }): FileRecord | undefined {
  let pending = relativeInRoot(selector).split('/').filter((s) => s !== '')
  let current = ''
  for (let hops = 0; pending.length > 0;) {
    const name = pending[0]!
    // A link target's `..` leaves the directory the walk has really reached
    // (a link's target, not the link's name), as the kernel resolves it.
    if (name === '..') { current = parentOf(current); pending = pending.slice(1); continue }
    const candidate = joinRel(current, name)
    const record = snapshot.records.get(candidate)
    if (record === undefined) return undefined
    const isLast = pending.length === 1
    if (record.type === 'symlink' && (!isLast || opts.followSymlinks)) {
      if (++hops > MAX_SYMLINK_HOPS) {
        throw new TsbuildError('NOT_FOUND', `too many levels of symbolic links resolving ${selector} in ${snapshot.root}`)
      }
      const target = record.linkTarget!
      if (target.startsWith('/')) current = ''
      pending = [...target.split('/').filter((s) => s !== '' && s !== '.'), ...pending.slice(1)]
      continue
    }
    if (!isLast && record.type !== 'dir') return undefined
    current = candidate
    pending = pending.slice(1)
  }
  return snapshot.records.get(current)
}

/**
 * All records a wildcard selector names, sorted by path. Each segment is a
 * filepath.Match glob (`*` never crosses `/`); directories on the way may be
 * symlinks, followed inside the root. A final symlink is followed only with
 * `followSymlinks`; the reported path is always the matched (unresolved) one.
 */
export function matchInSnapshot (snapshot: ContextSnapshot, selector: string, opts: { followSymlinks: boolean }): Array<{ path: string; record: FileRecord }> {
  const segments = relativeInRoot(selector).split('/').filter((s) => s !== '')
  let frontier: string[] = ['']
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!
    // The copy's own matching rules (Go's), not .dockerignore's: a checksum
    // over other files than the copy reads would be a wrong cache hit.
    const glob = hasGlobChars(seg) ? compileGoPattern(seg) : undefined
    const next: string[] = []
    for (const dirPath of frontier) {
      const dir = resolveInSnapshot(snapshot, dirPath, { followSymlinks: true })
      if (dir === undefined || dir.type !== 'dir') continue
      const names = snapshot.children.get(dir.path) ?? []
      if (glob !== undefined) {
        for (const n of names) if (glob.test(n)) next.push(joinRel(dirPath, n))
      } else if (names.includes(seg)) {
        next.push(joinRel(dirPath, seg))
      }
    }
    frontier = next
  }
  const out: Array<{ path: string; record: FileRecord }> = []
  for (const p of frontier.sort()) {
    const record = resolveInSnapshot(snapshot, p, opts)
    if (record !== undefined) out.push({ path: p, record })
  }
  return out
}

