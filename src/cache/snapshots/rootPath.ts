import { posix } from 'node:path'
import { resolveInRoot as resolveCommon } from '../../common/pathInRoot.js'

/**
 * Lexically clean a path taken from an archive or image so it is relative to
 * a root: leading `/` dropped, `..` clamped at the root. Returns '' for the root.
 */
export function cleanRelative (p: string): string {
  const cleaned = posix.normalize('/' + p)
  return cleaned === '/' ? '' : cleaned.replace(/^\/+/, '').replace(/\/+$/, '')
}

/**
 * Resolve `p` inside `root` as if `root` were `/` (see common/pathInRoot). Here
 * the final component is followed only with `followFinal`, so callers that
 * replace an entry never write through a link.
 */
export async function resolveInRoot (root: string, p: string, opts: { followFinal?: boolean } = {}): Promise<string> {
  return await resolveCommon(root, p, { followFinal: opts.followFinal === true })
}
