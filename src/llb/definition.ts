import type { Digest } from '../common/digest.js'
import { formatPlatform, hostPlatform, type Platform } from '../common/platform.js'
import { digestOf, encodeOp } from './encode.js'
import type { Constraints, Edge, Op, OpMetadata } from './ops.js'
import { mergeMetadata, toPlatform, type MarshalContext, type Output, type Vertex } from './vertex.js'

/**
 * A marshalled build graph (BuildKit pb.Definition). `ops` is in
 * topological order (every op after all of its inputs) and holds each
 * distinct op once, keyed by its digest; `metadata` has an entry (possibly
 * empty) for every op. `head` is the output the graph builds; null when the
 * result is scratch (no ops at all).
 */
export interface Definition {
  readonly ops: ReadonlyMap<Digest, Op>
  readonly metadata: ReadonlyMap<Digest, OpMetadata>
  readonly head: Edge | null
}

export interface MarshalOptions {
  /** Platform for ops whose State has none; defaults to the host's. */
  readonly platform?: Platform | string
  readonly constraints?: Constraints
}

/**
 * Walk the graph behind `head` (iteratively: graphs may be thousands of ops
 * deep), build every op, digest it, and collect the distinct ops. Builder
 * vertices that produce equal ops collapse into one entry with merged
 * metadata. Synchronous; awaiting the result also works.
 */
export function marshalDefinition (head: Output | null, opts: MarshalOptions = {}): Definition {
  const ops = new Map<Digest, Op>()
  const metadata = new Map<Digest, OpMetadata>()
  if (head === null) return { ops, metadata, head: null }
  const ctx: MarshalContext = {
    platform: toPlatform(opts.platform) ?? hostPlatform(),
    ...(opts.constraints !== undefined ? { constraints: opts.constraints } : {}),
  }
  const ctxKey = `${formatPlatform(ctx.platform)} ${JSON.stringify(ctx.constraints ?? {})}`
  const done = new Map<Vertex, Digest>()
  const stack: Vertex[] = [head.vertex]
  while (stack.length > 0) {
    const v = stack[stack.length - 1]!
    if (done.has(v)) { stack.pop(); continue }
    let waiting = false
    // Pushed last-first so inputs are emitted in their own order.
    for (let i = v.inputs.length - 1; i >= 0; i--) {
      const dep = v.inputs[i]!.vertex
      if (!done.has(dep)) { stack.push(dep); waiting = true }
    }
    if (waiting) continue
    stack.pop()
    const { op, digest: d } = buildOp(v, done, ctx, ctxKey)
    done.set(v, d)
    const prev = metadata.get(d)
    if (prev === undefined) {
      ops.set(d, op)
      metadata.set(d, v.metadata)
    } else {
      metadata.set(d, mergeMetadata(prev, v.metadata))
    }
  }
  return { ops, metadata, head: { digest: done.get(head.vertex)!, index: head.index } }
}

/**
 * Ops already built per vertex and marshal context. Vertices are immutable,
 * so a vertex marshalled with the same platform and constraints always gives
 * the same op; the converter marshals overlapping graphs (stages, targets)
 * repeatedly, and this makes every marshal after the first cost only the walk.
 * Weak keys: entries go away with the builder graph.
 */
const builtOps = new WeakMap<Vertex, BuiltOp>()

/** One built op; a vertex marshalled in several contexts keeps a short list (usually one entry, so no Map). */
interface BuiltOp {
  readonly op: Op
  readonly digest: Digest
  readonly ctxKey: string
  readonly next: BuiltOp | undefined
}

function buildOp (v: Vertex, done: ReadonlyMap<Vertex, Digest>, ctx: MarshalContext, ctxKey: string): BuiltOp {
  const first = builtOps.get(v)
  for (let b = first; b !== undefined; b = b.next) if (b.ctxKey === ctxKey) return b
  const edges = v.inputs.map((inp) => ({ digest: done.get(inp.vertex)!, index: inp.index }))
  const op = v.toOp(edges, ctx)
  const built: BuiltOp = { op, digest: digestOf(op), ctxKey, next: first }
  builtOps.set(v, built)
  return built
}

/**
 * Several Definitions (typically one per target platform) as one graph:
 * ops shared between them appear once, in an order that is still
 * topological, with their metadata merged. `heads[i]` is the head of
 * `defs[i]`.
 */
export interface MultiDefinition {
  readonly ops: ReadonlyMap<Digest, Op>
  readonly metadata: ReadonlyMap<Digest, OpMetadata>
  readonly heads: ReadonlyArray<Edge | null>
}

export function mergeDefinitions (defs: readonly Definition[]): MultiDefinition {
  const ops = new Map<Digest, Op>()
  const metadata = new Map<Digest, OpMetadata>()
  for (const def of defs) {
    for (const [d, op] of def.ops) {
      const md = def.metadata.get(d) ?? {}
      const prev = metadata.get(d)
      if (prev === undefined) {
        ops.set(d, op)
        metadata.set(d, md)
      } else {
        metadata.set(d, mergeMetadata(prev, md))
      }
    }
  }
  return { ops, metadata, heads: defs.map((d) => d.head) }
}

/** One vertex in the JSON view of a Definition. */
export interface VertexJson {
  readonly digest: Digest
  readonly kind: Op['kind']
  readonly platform?: string
  readonly inputs: ReadonlyArray<{ digest: Digest, index: number }>
  /** The op's own fields, in canonical form (defaults omitted). */
  readonly op: Record<string, unknown>
  readonly metadata?: OpMetadata
}

export interface DefinitionJson {
  readonly heads: ReadonlyArray<Edge | null>
  readonly vertices: readonly VertexJson[]
}

/**
 * A stable, readable JSON view of a Definition (or a merged one): one entry
 * per vertex in topological order with its digest, kind, platform, inputs,
 * canonical op fields and metadata. Equal graphs give identical output.
 */
export function definitionToJson (def: Definition | MultiDefinition): DefinitionJson {
  const vertices: VertexJson[] = []
  for (const [digest, op] of def.ops) {
    const { kind: _k, platform: _p, inputs: _i, ...fields } = encodeOp(op)
    const md = def.metadata.get(digest)
    vertices.push({
      digest,
      kind: op.kind,
      ...(op.platform !== undefined ? { platform: formatPlatform(op.platform) } : {}),
      inputs: op.inputs.map((e) => ({ digest: e.digest, index: e.index })),
      op: fields,
      ...(md !== undefined && Object.keys(md).length > 0 ? { metadata: md } : {}),
    })
  }
  return { heads: 'heads' in def ? def.heads : [def.head], vertices }
}

/** {@link definitionToJson} as indented text, for `--print=llb`. */
export function formatDefinition (def: Definition | MultiDefinition): string {
  return JSON.stringify(definitionToJson(def), null, 2) + '\n'
}
