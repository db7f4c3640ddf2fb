import { lstat, readdir } from 'node:fs/promises'
import { posix } from 'node:path'
import { TsbuildError } from '../../../common/errors.js'
import { resolveInRoot } from '../../../common/pathInRoot.js'
import { compileGoPattern, hasGlobChars } from '../../context/index.js'

export interface SourceMatch {
  /** Host path of the entry (inside the source root). */
  hostPath: string
  /** Path as the user wrote it, after wildcard expansion, relative to the source root (no leading `/`). */
  relPath: string
}

/**
 * Expand a COPY/ADD source inside `root`. Wildcards are matched one path
 * component at a time with Go's filepath.Match rules, as BuildKit does; every
 * symlink met is resolved inside the root.
 */
export async function resolveSources (root: string, src: string, opts: { allowWildcard: boolean; followSymlinks: boolean }): Promise<SourceMatch[]> {
  const parts = src.split('/').filter((p) => p !== '' && p !== '.')
  if (!opts.allowWildcard || !parts.some(hasGlobChars)) {
    const hostPath = await resolveInRoot(root, src, { followFinal: opts.followSymlinks })
    if (!(await exists(hostPath))) throw notFound(src)
    return [{ hostPath, relPath: cleanRel(parts) }]
  }
  let frontier: string[][] = [[]]
  for (const part of parts) {
    const next: string[][] = []
    if (part === '..') {
      for (const f of frontier) next.push(f.slice(0, -1))
    } else if (!hasGlobChars(part)) {
      for (const f of frontier) next.push([...f, part])
    } else {
      const re = compileGoPattern(part)
      for (const f of frontier) {
        const dir = await resolveInRoot(root, '/' + f.join('/'))
        let names: string[]
        try { names = await readdir(dir) } catch { continue }
        for (const n of names.sort()) if (re.test(n)) next.push([...f, n])
      }
    }
    frontier = next
  }
  const out: SourceMatch[] = []
  for (const f of frontier) {
    const hostPath = await resolveInRoot(root, '/' + f.join('/'), { followFinal: opts.followSymlinks })
    if (await exists(hostPath)) out.push({ hostPath, relPath: cleanRel(f) })
  }
  return out
}

function cleanRel (parts: string[]): string {
  return posix.normalize(parts.join('/') || '.').replace(/^(\.\.\/)+/, '')
}

async function exists (p: string): Promise<boolean> {
  try { await lstat(p); return true } catch { return false }
}

function notFound (src: string): TsbuildError {
  return new TsbuildError('NOT_FOUND', `"${posix.join('/', src)}": not found`)
}
