import {
  SCRATCH_INPUT, SKIP_OUTPUT,
  type ChownOpt, type CopyAction, type Edge, type FileAction, type FileActionSpec, type Op, type OpMetadata,
} from './ops.js'
import { resolvePath } from './paths.js'
import type { State } from './state.js'
import { dedupeEdges, type MarshalContext, type Output, type Vertex } from './vertex.js'

export interface CopyOptions {
  readonly owner?: ChownOpt
  readonly mode?: number | string
  readonly followSymlink?: boolean
  readonly dirCopyContents?: boolean
  readonly attemptUnpack?: boolean
  readonly createDestPath?: boolean
  readonly allowWildcard?: boolean
  readonly allowEmptyWildcard?: boolean
  readonly includePatterns?: readonly string[]
  readonly excludePatterns?: readonly string[]
  readonly alwaysReplaceExistingDestPaths?: boolean
  readonly parents?: boolean
}

export interface MkdirOptions { readonly makeParents?: boolean, readonly owner?: ChownOpt }
export interface MkfileOptions { readonly owner?: ChownOpt }
export interface RmOptions { readonly allowNotFound?: boolean, readonly allowWildcard?: boolean }
export interface SymlinkOptions { readonly owner?: ChownOpt }

/** One pending action; paths are still relative to the State(s) it will be applied to. */
type PendingAction = { readonly spec: FileActionSpec, readonly source?: State }

/**
 * An immutable list of file actions, each applied on top of the previous
 * one's result; the first applies to the State given to `State.file()`.
 * Relative paths resolve against that State's working directory (a copy's
 * `src` against its source State's). Start with {@link copy}, {@link mkdir},
 * {@link mkfile}, {@link rm} or {@link symlink} and chain more.
 */
export class FileActionChain {
  private constructor (readonly pending: readonly PendingAction[]) {}

  static of (a: PendingAction): FileActionChain {
    return new FileActionChain([a])
  }

  copy (from: State, src: string, dest: string, opts?: CopyOptions): FileActionChain {
    return this.then(copy(from, src, dest, opts))
  }

  mkdir (path: string, mode: number, opts?: MkdirOptions): FileActionChain {
    return this.then(mkdir(path, mode, opts))
  }

  mkfile (path: string, mode: number, data: string | Uint8Array, opts?: MkfileOptions): FileActionChain {
    return this.then(mkfile(path, mode, data, opts))
  }

  rm (path: string, opts?: RmOptions): FileActionChain {
    return this.then(rm(path, opts))
  }

  symlink (oldpath: string, newpath: string, opts?: SymlinkOptions): FileActionChain {
    return this.then(symlink(oldpath, newpath, opts))
  }

  /** Append another chain's actions after this one's. */
  then (next: FileActionChain): FileActionChain {
    return new FileActionChain([...this.pending, ...next.pending])
  }
}

/** Copy `src` (in `from`, may be a wildcard when allowed) to `dest`; a trailing `/` on dest means "into". */
export function copy (from: State, src: string, dest: string, opts: CopyOptions = {}): FileActionChain {
  // One literal, then optional members: spreading into a literal was a
  // measured cost when a big Dockerfile creates thousands of copies.
  const spec: { -readonly [K in keyof CopyAction]: CopyAction[K] } = {
    type: 'copy',
    src,
    dest,
    followSymlink: opts.followSymlink ?? false,
    dirCopyContents: opts.dirCopyContents ?? false,
    attemptUnpack: opts.attemptUnpack ?? false,
    createDestPath: opts.createDestPath ?? false,
    allowWildcard: opts.allowWildcard ?? false,
    allowEmptyWildcard: opts.allowEmptyWildcard ?? false,
    includePatterns: opts.includePatterns ?? [],
    excludePatterns: opts.excludePatterns ?? [],
    alwaysReplaceExistingDestPaths: opts.alwaysReplaceExistingDestPaths ?? false,
    parents: opts.parents ?? false,
  }
  if (opts.owner !== undefined) spec.owner = opts.owner
  if (opts.mode !== undefined) spec.mode = opts.mode
  return FileActionChain.of({ spec, source: from })
}

export function mkdir (path: string, mode: number, opts: MkdirOptions = {}): FileActionChain {
  return FileActionChain.of({ spec: { type: 'mkdir', path, mode, makeParents: opts.makeParents ?? false, ...owner(opts.owner) } })
}

/** Create a file; text is stored as UTF-8, bytes that are not valid UTF-8 as base64. */
export function mkfile (path: string, mode: number, data: string | Uint8Array, opts: MkfileOptions = {}): FileActionChain {
  let text: string
  let dataEncoding: 'utf8' | 'base64' = 'utf8'
  if (typeof data === 'string') {
    text = data
  } else {
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
    text = buf.toString('utf8')
    if (!Buffer.from(text, 'utf8').equals(buf)) { text = buf.toString('base64'); dataEncoding = 'base64' }
  }
  return FileActionChain.of({ spec: { type: 'mkfile', path, mode, data: text, dataEncoding, ...owner(opts.owner) } })
}

export function rm (path: string, opts: RmOptions = {}): FileActionChain {
  return FileActionChain.of({ spec: { type: 'rm', path, allowNotFound: opts.allowNotFound ?? false, allowWildcard: opts.allowWildcard ?? false } })
}

export function symlink (oldpath: string, newpath: string, opts: SymlinkOptions = {}): FileActionChain {
  return FileActionChain.of({ spec: { type: 'symlink', oldpath, newpath, ...owner(opts.owner) } })
}

function owner (o: ChownOpt | undefined): { owner?: ChownOpt } {
  return o === undefined ? {} : { owner: o }
}

/**
 * Builder vertex of a FileOp. Input slot 0 is the base State (when not
 * scratch), followed by one slot per copy source that is not scratch. The
 * last action's result is output 0; intermediate results are internal.
 */
export class FileVertex implements Vertex {
  readonly inputs: readonly Output[]
  private readonly actions: ReadonlyArray<{ spec: FileActionSpec, sourceSlot: number }>
  private readonly baseSlot: number

  constructor (base: State, chain: FileActionChain, readonly metadata: OpMetadata) {
    const inputs: Output[] = []
    const baseOut = base.output()
    this.baseSlot = baseOut === null ? -1 : inputs.push(baseOut) - 1
    const cwd = base.getDir()
    this.actions = chain.pending.map(({ spec, source }) => {
      let sourceSlot = -1
      if (source !== undefined) {
        const out = source.output()
        if (out !== null) sourceSlot = inputs.push(out) - 1
      }
      return { spec: resolveSpec(spec, cwd, source?.getDir() ?? '/'), sourceSlot }
    })
    this.inputs = inputs
  }

  toOp (edges: readonly Edge[], ctx: MarshalContext): Op {
    const { inputs, slots } = dedupeEdges(edges)
    const n = inputs.length
    const last = this.actions.length - 1
    const actions = this.actions.map((a, i): FileAction => ({
      input: i > 0 ? n + i - 1 : this.baseSlot < 0 ? SCRATCH_INPUT : slots[this.baseSlot]!,
      secondaryInput: a.sourceSlot < 0 ? SCRATCH_INPUT : slots[a.sourceSlot]!,
      output: i === last ? 0 : SKIP_OUTPUT,
      action: a.spec,
    }))
    // A file op's result does not depend on the platform, so it carries none
    // and is shared between the per-platform graphs of a multi-platform build.
    return { kind: 'file', inputs, ...(ctx.constraints !== undefined ? { constraints: ctx.constraints } : {}), actions }
  }
}

function resolveSpec (a: FileActionSpec, cwd: string, srcCwd: string): FileActionSpec {
  switch (a.type) {
    case 'copy':
      return { ...a, src: resolvePath(srcCwd, a.src, { keepTrailingSlash: true }), dest: resolvePath(cwd, a.dest, { keepTrailingSlash: true }) }
    case 'mkdir':
    case 'mkfile':
    case 'rm':
      return { ...a, path: resolvePath(cwd, a.path) }
    case 'symlink':
      return { ...a, newpath: resolvePath(cwd, a.newpath) }
  }
}
