import { normalizePlatform, parsePlatform, type Platform } from '../common/platform.js'
import type { Constraints, Edge, Op, OpMetadata } from './ops.js'

/**
 * Builder-side graph node: knows its inputs as other vertices' outputs and
 * turns itself into an {@link Op} once those inputs have digests. Vertices
 * are immutable and may be shared by any number of States.
 */
export interface Vertex {
  /** Logical input slots, in the order `toOp` receives their edges. */
  readonly inputs: readonly Output[]
  readonly metadata: OpMetadata
  /**
   * Build the op. `inputs[i]` is the marshalled edge of `this.inputs[i]`
   * (duplicates possible; the op deduplicates). `ctx.platform` is the
   * platform to use when the vertex has none of its own.
   */
  toOp (inputs: readonly Edge[], ctx: MarshalContext): Op
}

/** One output of a builder vertex (the pre-marshal twin of {@link Edge}). */
export interface Output {
  readonly vertex: Vertex
  readonly index: number
}

export interface MarshalContext {
  readonly platform: Platform
  readonly constraints?: Constraints
}

/** What callers may attach to an op they create; see {@link OpMetadata}. */
export type MetadataOptions = OpMetadata

/** Pick the metadata fields out of an options bag that also carries op settings. */
export function pickMetadata (o: MetadataOptions | undefined): OpMetadata {
  if (o === undefined) return {}
  const m: { -readonly [K in keyof OpMetadata]: OpMetadata[K] } = {}
  if (o.customName !== undefined) m.customName = o.customName
  if (o.description !== undefined) m.description = o.description
  if (o.locations !== undefined) m.locations = o.locations
  if (o.progressGroup !== undefined) m.progressGroup = o.progressGroup
  if (o.ignoreCache !== undefined) m.ignoreCache = o.ignoreCache
  return m
}

/**
 * Combine the metadata of two vertices that turned out to be the same op:
 * the first name and progress group win, descriptions are merged (first
 * wins per key), locations are concatenated without repeats, and
 * ignore-cache holds if either asked for it.
 */
export function mergeMetadata (a: OpMetadata, b: OpMetadata): OpMetadata {
  if (isEmpty(b)) return a
  if (isEmpty(a)) return b
  const m: { -readonly [K in keyof OpMetadata]: OpMetadata[K] } = { ...a }
  if (m.customName === undefined && b.customName !== undefined) m.customName = b.customName
  if (m.progressGroup === undefined && b.progressGroup !== undefined) m.progressGroup = b.progressGroup
  if (b.description !== undefined) m.description = { ...b.description, ...a.description }
  if (b.locations !== undefined) {
    const seen = new Set((a.locations ?? []).map((l) => JSON.stringify(l)))
    const extra = b.locations.filter((l) => !seen.has(JSON.stringify(l)))
    if (extra.length > 0) m.locations = [...(a.locations ?? []), ...extra]
  }
  if (b.ignoreCache === true) m.ignoreCache = true
  return m
}

function isEmpty (m: OpMetadata): boolean {
  for (const k in m) if ((m as Record<string, unknown>)[k] !== undefined) return false
  return true
}

/**
 * The same vertex with extra metadata. Produces the identical op (so the same
 * digest); marshal merges the metadata.
 */
export class MetadataVertex implements Vertex {
  readonly inputs: readonly Output[]
  readonly metadata: OpMetadata

  constructor (readonly inner: Vertex, extra: OpMetadata) {
    this.inputs = inner.inputs
    this.metadata = { ...inner.metadata, ...extra }
  }

  toOp (inputs: readonly Edge[], ctx: MarshalContext): Op {
    return this.inner.toOp(inputs, ctx)
  }
}

/**
 * Deduplicate marshalled edges: returns the distinct edges in first-seen
 * order and, for each original slot, its index in that list.
 */
export function dedupeEdges (edges: readonly Edge[]): { inputs: Edge[], slots: number[] } {
  // Most ops have one or two inputs: exact-size literals, no growing arrays.
  // Edges are immutable values, so the op may hold the very objects given.
  if (edges.length === 1) return { inputs: [edges[0]!], slots: [0] }
  if (edges.length === 2) {
    const [a, b] = edges as [Edge, Edge]
    if (a.digest === b.digest && a.index === b.index) return { inputs: [a], slots: [0, 0] }
    return { inputs: [a, b], slots: [0, 1] }
  }
  const inputs: Edge[] = []
  const slots: number[] = []
  for (let j = 0; j < edges.length; j++) {
    const e = edges[j]!
    let i = 0
    while (i < inputs.length && (inputs[i]!.digest !== e.digest || inputs[i]!.index !== e.index)) i++
    if (i === inputs.length) inputs.push({ digest: e.digest, index: e.index })
    slots.push(i)
  }
  return { inputs, slots }
}

/** Accept `linux/arm64` or a Platform object; always returns it normalised. */
export function toPlatform (p: Platform | string | undefined): Platform | undefined {
  if (p === undefined) return undefined
  return typeof p === 'string' ? parsePlatform(p) : normalizePlatform(p)
}
