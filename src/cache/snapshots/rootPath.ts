import { lstat, readlink } from 'node:fs/promises'
import { join, posix } from 'node:path'
import { TsbuildError } from '../../common/errors.js'

const MAX_SYMLINKS = 255

/**
 * Lexically clean a path taken from an archive or image so it is relative to
 * a root: leading `/` dropped, `..` clamped at the root. Returns '' for the root.
 */
export function cleanRelative (p: string): string {
  const cleaned = posix.normalize('/' + p)
  return cleaned === '/' ? '' : cleaned.replace(/^\/+/, '').replace(/\/+$/, '')
}

/**
 * Resolve `p` inside `root` as if `root` were `/`: symlinks are followed but
 * re-anchored at the root (an absolute target means root-relative, `..`
 * never climbs above the root). The final component is followed only with
 * `followFinal`, so callers that replace an entry never write through a link.
 * Components that do not exist are appended lexically.
 */
export async function resolveInRoot (root: string, p: string, opts: { followFinal?: boolean } = {}): Promise<string> {
  const resolved: string[] = []
  let pending = cleanRelative(p).split('/').filter((c) => c !== '')
  let links = 0
  let missing = false
  while (pending.length > 0) {
    const comp = pending.shift()!
    if (comp === '.' || comp === '') continue
    if (comp === '..') { resolved.pop(); continue }
    if (missing) { resolved.push(comp); continue }
    const isFinal = pending.length === 0
    const candidate = join(root, ...resolved, comp)
    let isLink = false
    try {
      isLink = (await lstat(candidate)).isSymbolicLink()
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      missing = true
    }
    if (isLink && (!isFinal || opts.followFinal === true)) {
      if (++links > MAX_SYMLINKS) throw new TsbuildError('PATH_ESCAPE', `too many levels of symbolic links resolving ${p} in ${root}`)
      const target = await readlink(candidate)
      if (target.startsWith('/')) resolved.length = 0
      pending = [...target.split('/').filter((c) => c !== ''), ...pending]
      continue
    }
    resolved.push(comp)
  }
  return join(root, ...resolved)
}
