import type { Digest } from '../../common/digest.js'
import { hasGlobChars, matchInSnapshot, resolveInSnapshot, type ContextSnapshot, type FileRecord } from '../context/index.js'

/** More files than this under one COPY source are summarised by count, to keep fact sheets small. */
export const MAX_LISTED_FILES = 5000

/**
 * What each file and directory a COPY selects looks like (content digest,
 * link target or `dir`, with mode and owner), by path (a directory's ends in
 * `/`): the per-file facts a later build compares
 * to name the files that changed. Include/exclude filters are not applied,
 * so the list may name a few files the COPY left out.
 */
export function selectedFiles (snapshot: ContextSnapshot, selector: string, opts: { followSymlinks: boolean; wildcard: boolean }): Record<string, string> {
  const out: Record<string, string> = {}
  let count = 0
  const add = (r: FileRecord): void => {
    if (count++ >= MAX_LISTED_FILES) return
    out[r.type === 'dir' ? `${r.path === '' ? '.' : r.path}/` : r.path] = describe(r)
  }
  const walk = (r: FileRecord): void => {
    if (r.type !== 'dir') { add(r); return }
    // Directories too (`dir/`): a new empty one, or a mode change, is what changed.
    add(r)
    for (const child of snapshot.children.get(r.path) ?? []) {
      const c = snapshot.records.get(r.path === '' ? child : `${r.path}/${child}`)
      if (c !== undefined) walk(c)
    }
  }
  if (opts.wildcard && hasGlobChars(selector)) {
    for (const m of matchInSnapshot(snapshot, selector, { followSymlinks: opts.followSymlinks })) walk(m.record)
  } else {
    const r = resolveInSnapshot(snapshot, selector, { followSymlinks: opts.followSymlinks })
    if (r !== undefined) walk(r)
  }
  if (count > MAX_LISTED_FILES) out['…'] = `${count - MAX_LISTED_FILES} more files not listed`
  return out
}

function describe (r: FileRecord): string {
  const what = r.type === 'symlink' ? `-> ${r.linkTarget ?? ''}` : r.type === 'dir' ? 'dir' : short(r.digest)
  return `${what} ${r.mode.toString(8)} ${r.uid}:${r.gid}`
}

const short = (d: Digest | undefined): string => d === undefined ? '' : d.slice('sha256:'.length, 'sha256:'.length + 16)

/** Paths whose description differs between two listings, added and removed ones included. */
export function changedFiles (before: Record<string, string>, after: Record<string, string>): string[] {
  const out: string[] = []
  for (const [path, d] of Object.entries(after)) if (before[path] !== d) out.push(path)
  for (const path of Object.keys(before)) if (!(path in after)) out.push(path)
  return out.sort()
}
