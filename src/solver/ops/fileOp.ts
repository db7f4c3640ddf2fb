import { lchown, lstat, readdir, rm, symlink, writeFile, chmod } from 'node:fs/promises'
import { posix } from 'node:path'
import { canonicalJson, sha256, type Digest } from '../../common/digest.js'
import { TsbuildError } from '../../common/errors.js'
import { resolveInRoot } from '../../common/pathInRoot.js'
import { encodeOpForCache, SCRATCH_INPUT, type ChownOpt, type FileAction, type FileOp } from '../../llb/index.js'
import type { Snapshotter, SnapshotName } from '../../cache/snapshots/index.js'
import type { CacheRecord } from '../../cache/index.js'
import { checksumSnapshot, PatternMatcher } from '../context/index.js'
import { selectedFiles } from '../explain/index.js'
import { resolveUser } from '../executor/index.js'
import type { CacheDep, CacheMap, OpContext, OpRunner, Result } from '../scheduler/index.js'
import { layerContentDigest } from './file/contentKey.js'
import { copyAction, mkdirInRoot, type Owner } from './file/copy.js'
import { compileGoPattern } from '../context/index.js'
import { parseModeSpec } from './file/mode.js'
import { withView, withWritable } from './mounted.js'
import { contextOf, layersOf } from './types.js'

export interface FileOpDeps {
  snapshotter: Snapshotter
  stateDir: string
  inputIsLocal: readonly boolean[]
}

/**
 * COPY, ADD, WORKDIR's mkdir and heredoc files. A run of actions that each
 * build on the previous one is applied to one writable snapshot and becomes
 * one layer, as in BuildKit. A copy from the build context is keyed by the
 * checksum of exactly the files it selects.
 */
export class FileOpRunner implements OpRunner {
  readonly resource = 'io'

  /** Set only for a copy from a stage or an image: see layerContentKey. */
  readonly contentKey?: (inputs: Result[], result: Result) => Promise<{ content: Digest; bases: number[] } | undefined>
  private readonly bases: number[]

  constructor (private readonly op: FileOp, private readonly deps: FileOpDeps) {
    const n = op.inputs.length
    this.bases = [...new Set(op.actions.filter((a) => a.input < n && a.input !== SCRATCH_INPUT).map((a) => a.input))]
    const sources = op.actions.flatMap((a) => (a.action.type === 'copy' && a.secondaryInput < n ? [a.secondaryInput] : []))
    const copiesFromStage = sources.length > 0 && this.bases.length <= 1 && !sources.some((i) => deps.inputIsLocal[i] === true || this.bases.includes(i))
    if (copiesFromStage) this.contentKey = async (inputs, result) => await this.layerContentKey(inputs, result)
  }

  async cacheMap (): Promise<CacheMap> {
    // Filled in while the content keys are computed: what each context COPY selected, file by file.
    const explain: Record<string, string> = {}
    const deps: CacheDep[] = this.op.inputs.map((_, i) => {
      const copies = this.op.actions.filter((a) => a.secondaryInput === i && a.action.type === 'copy')
      const selectors = copies.map((a) => (a.action.type === 'copy' ? a.action.src : ''))
      if (!this.deps.inputIsLocal[i]) return selectors.length > 0 ? { selector: selectors.join('\0') } : {}
      return {
        computeDigest: async (input: Result) => {
          const ctx = contextOf(input)!
          const sums = copies.map((a) => {
            const c = a.action
            if (c.type !== 'copy') return ''
            explain[`files:${c.src}`] = JSON.stringify(selectedFiles(ctx.snapshot, c.src, { followSymlinks: c.followSymlink, wildcard: c.allowWildcard }))
            return checksumSnapshot(ctx.snapshot, c.src, {
              followSymlinks: c.followSymlink, wildcard: c.allowWildcard, allowEmptyWildcard: c.allowEmptyWildcard,
              includePatterns: c.includePatterns, excludePatterns: c.excludePatterns,
            })
          })
          return sha256(canonicalJson(sums))
        },
      }
    })
    return { digest: sha256(canonicalJson(encodeOpForCache(this.op))), deps, explain }
  }

  /**
   * A copy from a stage or image (not the context, whose files already key
   * the op by content): the digest of the layer it wrote, on top of the
   * input it wrote on.
   */
  private async layerContentKey (inputs: Result[], result: Result): Promise<{ content: Digest; bases: number[] } | undefined> {
    const below = this.bases.length === 0 ? [] : inputs[this.bases[0]!]?.layers
    const layers = result.layers
    if (below === undefined || layers === undefined || layers.length <= below.length || below.some((l, i) => layers[i] !== l)) return undefined
    const diffs: string[] = []
    for (const name of layers.slice(below.length)) {
      const info = await this.deps.snapshotter.stat(name as SnapshotName)
      if (info === undefined) return undefined
      diffs.push(info.diffPath)
    }
    const content = await layerContentDigest(diffs)
    return content === undefined ? undefined : { content, bases: this.bases }
  }

  async exec (ctx: OpContext, inputs: Result[]): Promise<Result> {
    const n = this.op.inputs.length
    const results: string[][] = []
    const actions = this.op.actions
    let k = 0
    while (k < actions.length) {
      // Gather the chain of actions that each apply to the previous one's result.
      let end = k
      while (end + 1 < actions.length && actions[end + 1]!.input === n + end) end++
      const first = actions[k]!
      const base = first.input === SCRATCH_INPUT ? [] : first.input < n ? await layersOf(inputs[first.input]) : results[first.input - n]!
      const chain = actions.slice(k, end + 1)
      const name = await withWritable(this.deps.snapshotter, this.deps.stateDir, base, async (root) => {
        for (const a of chain) await this.apply(ctx, a, root, inputs, results)
      })
      for (let j = k; j <= end; j++) results[j] = [...base, name]
      k = end + 1
    }
    return { layers: results[results.length - 1] ?? [] }
  }

  load (record: CacheRecord): Result {
    return { layers: record.layers ?? [] }
  }

  private async apply (ctx: OpContext, fa: FileAction, root: string, inputs: Result[], results: string[][]): Promise<void> {
    const a = fa.action
    if (ctx.signal.aborted) throw new TsbuildError('CANCELLED', 'cancelled')
    switch (a.type) {
      case 'copy': {
        const owner = a.owner !== undefined ? await resolveOwner(root, a.owner) : undefined
        const mode = a.mode === undefined ? undefined : parseModeSpec(typeof a.mode === 'number' ? a.mode.toString(8) : a.mode)
        const exclude = a.excludePatterns.length > 0 ? new PatternMatcher([...a.excludePatterns]) : undefined
        const includeMatcher = a.includePatterns.length > 0 ? new PatternMatcher([...a.includePatterns]) : undefined
        const include = includeMatcher === undefined
          ? undefined
          : { sources: a.includePatterns, match: (p: string, parent?: readonly boolean[]) => includeMatcher.match(p, parent), mayMatchAtOrBelow: (d: string) => includeMatcher.mayMatchAtOrBelow(d) }
        const action = {
          src: a.src, dest: a.dest, followSymlinks: a.followSymlink, dirCopyContents: a.dirCopyContents, createDestPath: a.createDestPath,
          allowWildcard: a.allowWildcard, allowEmptyWildcard: a.allowEmptyWildcard, parents: a.parents, attemptUnpack: a.attemptUnpack,
          ...(owner !== undefined ? { owner } : {}), ...(mode !== undefined ? { mode } : {}),
          ...(exclude !== undefined ? { exclude: (rel: string) => exclude.matches(rel) } : {}),
          ...(include !== undefined ? { include } : {}),
        }
        const n = this.op.inputs.length
        const src = fa.secondaryInput
        const srcLayers = src === SCRATCH_INPUT ? [] : src < n ? await layersOf(inputs[src]) : results[src - n]!
        const keepSourceOwner = src === SCRATCH_INPUT || src >= n || this.deps.inputIsLocal[src] !== true
        await withView(this.deps.snapshotter, this.deps.stateDir, srcLayers, (srcRoot) =>
          copyAction({ srcRoot, destRoot: root, defaultOwner: { uid: 0, gid: 0 }, keepSourceOwner }, action))
        return
      }
      case 'mkdir': {
        const owner = a.owner !== undefined ? await resolveOwner(root, a.owner) : undefined
        await mkdirInRoot(root, a.path, owner, a.makeParents, a.mode)
        return
      }
      case 'mkfile': {
        const parent = await resolveInRoot(root, posix.dirname(a.path))
        const target = posix.join(parent, posix.basename(a.path))
        await rm(target, { force: true, recursive: true })
        await writeFile(target, Buffer.from(a.data, a.dataEncoding === 'base64' ? 'base64' : 'utf8'), { mode: a.mode })
        await chmod(target, a.mode)
        const owner = a.owner !== undefined ? await resolveOwner(root, a.owner) : undefined
        if (owner !== undefined) await lchown(target, owner.uid, owner.gid)
        return
      }
      case 'rm': {
        for (const p of a.allowWildcard ? await expandWildcard(root, a.path) : [a.path]) {
          const target = await resolveInRoot(root, p, { followFinal: false })
          const st = await lstat(target).catch(() => undefined)
          if (st === undefined && !a.allowNotFound) throw new TsbuildError('NOT_FOUND', `cannot remove ${p}: not found`)
          if (target !== root) await rm(target, { recursive: true, force: true })
        }
        return
      }
      case 'symlink': {
        const parent = await resolveInRoot(root, posix.dirname(a.newpath))
        const target = posix.join(parent, posix.basename(a.newpath))
        await rm(target, { force: true })
        await symlink(a.oldpath, target)
        const owner = a.owner !== undefined ? await resolveOwner(root, a.owner) : undefined
        if (owner !== undefined) await lchown(target, owner.uid, owner.gid)
      }
    }
  }
}

/** `--chown=user[:group]`: names resolve in the destination image; a user without a group uses the uid as gid (Docker's rule). */
async function resolveOwner (root: string, o: ChownOpt): Promise<Owner> {
  const u = o.user
  const g = o.group
  const numeric = (x: number | string | undefined): x is number | string => x !== undefined && /^\d+$/.test(String(x))
  if (numeric(u) && (g === undefined || numeric(g))) {
    return { uid: Number(u), gid: g === undefined ? Number(u) : Number(g) }
  }
  const resolved = await resolveUser(root, g === undefined ? String(u) : `${u}:${g}`)
  return { uid: resolved.uid, gid: g === undefined ? resolved.uid : resolved.gid }
}

async function expandWildcard (root: string, pattern: string): Promise<string[]> {
  const dir = posix.dirname(pattern)
  const re = compileGoPattern(posix.basename(pattern))
  const host = await resolveInRoot(root, dir)
  const names = await readdir(host).catch(() => [] as string[])
  return names.filter((n) => re.test(n)).map((n) => posix.join(dir, n))
}
