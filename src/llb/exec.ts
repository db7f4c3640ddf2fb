import { TsbuildError } from '../common/errors.js'
import type { Platform } from '../common/platform.js'
import {
  SCRATCH_INPUT, SKIP_OUTPUT,
  type BindMount, type CacheMount, type CacheSharingMode, type Edge, type ExecMeta, type ExecOp, type Mount, type NetworkMode, type Op, type OpMetadata, type SecurityMode,
} from './ops.js'
import { resolvePath } from './paths.js'
import type { State } from './state.js'
import { dedupeEdges, type MarshalContext, type Output, type Vertex } from './vertex.js'

/**
 * A mount as the builder describes it: like {@link Mount} but naming the
 * source State instead of an input index. Create with {@link mount},
 * {@link cacheMount}, {@link tmpfsMount}, {@link secretMount}, {@link sshMount}.
 */
export type MountSpec =
  | { readonly type: 'bind', readonly dest: string, readonly source: State, readonly readonly: boolean, readonly selector?: string, readonly hasOutput: boolean }
  | { readonly type: 'cache', readonly dest: string, readonly source?: State, readonly readonly: boolean, readonly selector?: string, readonly cacheId: string, readonly sharing: CacheSharingMode, readonly keyFrom?: readonly string[] }
  | { readonly type: 'tmpfs', readonly dest: string, readonly size?: number }
  | { readonly type: 'secret', readonly dest: string, readonly secretId: string, readonly uid: number, readonly gid: number, readonly mode: number, readonly optional: boolean }
  | { readonly type: 'ssh', readonly dest: string, readonly sshId: string, readonly uid: number, readonly gid: number, readonly mode: number, readonly optional: boolean }

/**
 * Bind-mount `source` at `dest`. A writable mount has an output (its state
 * after the run, reachable with `getMount(dest)`) unless `output: false`.
 */
export function mount (dest: string, source: State, opts: { readonly?: boolean, selector?: string, output?: boolean } = {}): MountSpec {
  const ro = opts.readonly ?? false
  return { type: 'bind', dest, source, readonly: ro, hasOutput: !ro && (opts.output ?? true), ...(opts.selector ? { selector: opts.selector } : {}) }
}

/** A persistent cache directory shared between builds by `id` (default: `dest`). */
export function cacheMount (dest: string, opts: { id?: string, sharing?: CacheSharingMode, from?: State, selector?: string, readonly?: boolean, keyFrom?: readonly string[] } = {}): MountSpec {
  return {
    type: 'cache',
    dest,
    cacheId: opts.id !== undefined && opts.id !== '' ? opts.id : dest,
    sharing: opts.sharing ?? 'shared',
    readonly: opts.readonly ?? false,
    ...(opts.from !== undefined ? { source: opts.from } : {}),
    ...(opts.selector ? { selector: opts.selector } : {}),
    ...(opts.keyFrom !== undefined && opts.keyFrom.length > 0 ? { keyFrom: [...opts.keyFrom] } : {}),
  }
}

export function tmpfsMount (dest: string, opts: { size?: number } = {}): MountSpec {
  return { type: 'tmpfs', dest, ...(opts.size !== undefined ? { size: opts.size } : {}) }
}

/** A secret file (default mode 0400, owned by root); `id` defaults to the file name of `dest`. */
export function secretMount (dest: string, opts: { id?: string, uid?: number, gid?: number, mode?: number, optional?: boolean } = {}): MountSpec {
  const id = opts.id ?? dest.slice(dest.lastIndexOf('/') + 1)
  return { type: 'secret', dest, secretId: id, uid: opts.uid ?? 0, gid: opts.gid ?? 0, mode: opts.mode ?? 0o400, optional: opts.optional ?? false }
}

export const DEFAULT_SSH_SOCKET = '/run/buildkit/ssh_agent.0'

/** An SSH agent socket forwarded from the client (id `default` unless given). */
export function sshMount (dest: string = DEFAULT_SSH_SOCKET, opts: { id?: string, uid?: number, gid?: number, mode?: number, optional?: boolean } = {}): MountSpec {
  return { type: 'ssh', dest, sshId: opts.id ?? 'default', uid: opts.uid ?? 0, gid: opts.gid ?? 0, mode: opts.mode ?? 0o600, optional: opts.optional ?? false }
}

/** Everything an ExecVertex needs, already resolved from the State and run options. */
export interface ExecSpec {
  readonly meta: ExecMeta
  readonly root: Output | null
  readonly readonlyRootfs: boolean
  readonly mounts: readonly MountSpec[]
  readonly network: NetworkMode
  readonly security: SecurityMode
  readonly platform?: Platform
  readonly metadata: OpMetadata
}

const ROOT = { type: 'root' } as const

interface PlannedMount {
  readonly spec: MountSpec | { readonly type: 'root' }
  readonly dest: string
  /** Index into the vertex's input slots, or -1. */
  readonly slot: number
  readonly output: number
}

/**
 * Builder vertex of an ExecOp. Mount order and output indices are fixed at
 * construction (sorted by dest; root is output 0) so `outputFor(dest)` can
 * answer before marshalling.
 */
export class ExecVertex implements Vertex {
  readonly inputs: readonly Output[]
  readonly metadata: OpMetadata
  private readonly planned: readonly PlannedMount[]

  constructor (private readonly spec: ExecSpec) {
    this.metadata = spec.metadata
    const all: Array<{ spec: PlannedMount['spec'], dest: string }> = [{ spec: ROOT, dest: '/' }]
    for (let i = 0; i < spec.mounts.length; i++) {
      const m = spec.mounts[i]!
      const dest = resolvePath(spec.meta.cwd, m.dest)
      for (let j = 0; j < all.length; j++) {
        if (all[j]!.dest === dest) throw new TsbuildError('INVALID_INSTRUCTION', `mount destination ${dest} is used twice in ${JSON.stringify(spec.meta.args.join(' '))}`)
      }
      all.push({ spec: m, dest })
    }
    // Insertion sort by dest: a run has a handful of mounts, and Array#sort
    // allocates working space on every call.
    for (let i = 1; i < all.length; i++) {
      const m = all[i]!
      let j = i - 1
      while (j >= 0 && all[j]!.dest > m.dest) { all[j + 1] = all[j]!; j-- }
      all[j + 1] = m
    }
    const inputs: Output[] = []
    let nextOutput = 0
    this.planned = all.map(({ spec: m, dest }) => {
      const source = m.type === 'root' ? spec.root : (m.type === 'bind' || m.type === 'cache') ? m.source?.output() ?? null : null
      const slot = source === null ? -1 : inputs.push(source) - 1
      const hasOutput = m.type === 'root' ? true : m.type === 'bind' && m.hasOutput
      return { spec: m, dest, slot, output: hasOutput ? nextOutput++ : SKIP_OUTPUT }
    })
    this.inputs = inputs
  }

  /** The output index of the mount at `dest`, or undefined when it has none. */
  outputFor (dest: string): number | undefined {
    const p = this.planned.find((m) => m.dest === resolvePath(this.spec.meta.cwd, dest))
    return p === undefined || p.output === SKIP_OUTPUT ? undefined : p.output
  }

  toOp (edges: readonly Edge[], ctx: MarshalContext): Op {
    const { inputs, slots } = dedupeEdges(edges)
    const mounts = this.planned.map((p): Mount => {
      const input = p.slot < 0 ? SCRATCH_INPUT : slots[p.slot]!
      const s = p.spec
      switch (s.type) {
        case 'root':
          return { type: 'bind', dest: '/', input, output: p.output, readonly: this.spec.readonlyRootfs }
        case 'bind': {
          const m: { -readonly [K in keyof BindMount]: BindMount[K] } = { type: 'bind', dest: p.dest, input, output: p.output, readonly: s.readonly }
          if (s.selector !== undefined && s.selector !== '') m.selector = s.selector
          return m
        }
        case 'cache': {
          const m: { -readonly [K in keyof CacheMount]: CacheMount[K] } = { type: 'cache', dest: p.dest, input, output: SKIP_OUTPUT, readonly: s.readonly, cacheId: s.cacheId, sharing: s.sharing }
          if (s.selector !== undefined && s.selector !== '') m.selector = s.selector
          if (s.keyFrom !== undefined) m.keyFrom = s.keyFrom
          return m
        }
        case 'tmpfs':
          return { type: 'tmpfs', dest: p.dest, input, output: SKIP_OUTPUT, readonly: false, ...(s.size !== undefined ? { size: s.size } : {}) }
        case 'secret':
          return { type: 'secret', dest: p.dest, input, output: SKIP_OUTPUT, readonly: true, secretId: s.secretId, uid: s.uid, gid: s.gid, mode: s.mode, optional: s.optional }
        case 'ssh':
          return { type: 'ssh', dest: p.dest, input, output: SKIP_OUTPUT, readonly: true, sshId: s.sshId, uid: s.uid, gid: s.gid, mode: s.mode, optional: s.optional }
      }
    })
    const op: { -readonly [K in keyof ExecOp]: ExecOp[K] } = {
      kind: 'exec',
      inputs,
      platform: this.spec.platform ?? ctx.platform,
      meta: this.spec.meta,
      mounts,
      network: this.spec.network,
      security: this.spec.security,
    }
    if (ctx.constraints !== undefined) op.constraints = ctx.constraints
    return op
  }
}
