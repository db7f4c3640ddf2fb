import path from 'node:path'
import { sha256 } from '../../../common/digest.js'
import { TsbuildError } from '../../../common/errors.js'
import type { SourceOp, LocalSourceAttrs } from '../../../llb/index.js'
import { snapshotName, type Snapshotter } from '../../../cache/snapshots/index.js'
import { checksumSnapshot, copyContext, includePatternsFor, scanContext } from '../../context/index.js'
import type { CacheMap, OpContext, OpRunner, Result } from '../../scheduler/index.js'
import type { LocalContextRef } from '../types.js'

export interface LocalSourceDeps {
  /** Client directories by local source name (`context`, named contexts). */
  dirs: ReadonlyMap<string, string>
  stateDir: string
  snapshotter: Snapshotter
}

/**
 * A local directory as a source. It is scanned on every build (the stat cache
 * makes that cheap) and never cached itself: consumers key on checksums of
 * exactly what they read. The files are copied into a snapshot only when a
 * consumer has to run.
 */
export class LocalSourceRunner implements OpRunner {
  readonly resource = 'io'
  readonly noCache = true
  private readonly attrs: LocalSourceAttrs

  constructor (op: SourceOp, private readonly deps: LocalSourceDeps) {
    this.attrs = op.attrs as LocalSourceAttrs
  }

  async cacheMap (): Promise<CacheMap> {
    return { digest: sha256(`local:${this.attrs.name}`), deps: [] }
  }

  /**
   * The source's include patterns widened by its follow paths (the paths the
   * build reads), so only those are scanned. Everything when there are no
   * follow paths, or one of them needs the whole directory.
   */
  private includePatterns (root: string): string[] {
    const { includePatterns, followPaths } = this.attrs
    if (followPaths.length === 0) return [...includePatterns]
    const followed = includePatternsFor(root, followPaths)
    if (followed === undefined) return []
    return includePatterns.length === 0 ? followed : [...includePatterns, ...followed]
  }

  async exec (ctx: OpContext): Promise<Result> {
    const root = this.deps.dirs.get(this.attrs.name)
    if (root === undefined) throw new TsbuildError('NOT_FOUND', `no local directory named ${JSON.stringify(this.attrs.name)} was given to the build`, { hint: 'pass it with --build-context NAME=DIR' })
    const snapshot = await scanContext(root, {
      excludePatterns: [...this.attrs.excludePatterns],
      includePatterns: this.includePatterns(root),
      // A context unpacked into the state dir's tmp (stdin, a URL, git) is removed after the
      // build: a stat cache kept for it would be one more file left behind by every such build.
      ...(isUnder(root, path.join(this.deps.stateDir, 'tmp')) ? {} : { stateDir: this.deps.stateDir }),
      ownership: 'root',
      signal: ctx.signal,
    })
    let materialized: Promise<string> | undefined
    const { snapshotter } = this.deps
    const ref: LocalContextRef = {
      root,
      snapshot,
      materialize: () => {
        // Content-addressed: an unchanged context is copied once, ever.
        materialized ??= (async () => {
          const name = snapshotName(`context-${checksumSnapshot(snapshot, '/').slice(7)}`)
          const info = await snapshotter.createCommitted(name, async (fsDir) => { await copyContext(snapshot, fsDir, { signal: ctx.signal }) })
          return info.name
        })()
        return materialized
      },
    }
    return { context: ref }
  }
}

function isUnder (p: string, dir: string): boolean {
  const rel = path.relative(path.resolve(dir), path.resolve(p))
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel)
}
