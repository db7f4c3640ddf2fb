import type { Digest } from '../common/digest.js'
import { vertexName, type MultiDefinition, type Op, type OpMetadata } from '../llb/index.js'
import type { OpRunner, SolverVertex } from './scheduler/index.js'

export type RunnerFactory = (op: Op, inputOps: readonly Op[]) => OpRunner

/**
 * Turn a (merged, multi-platform) LLB graph into solver vertices. Ops are
 * keyed by digest, so a vertex shared by several platforms' graphs exists
 * once and is solved once.
 */
export function buildSolverGraph (def: MultiDefinition, makeRunner: RunnerFactory, opts: { ignoreCache?: (md: OpMetadata) => boolean } = {}): { heads: Array<SolverVertex | null>; vertices: Map<Digest, SolverVertex> } {
  const vertices = new Map<Digest, SolverVertex>()
  // def.ops is topological: inputs come before their consumers.
  for (const [digest, op] of def.ops) {
    const md = def.metadata.get(digest) ?? {}
    const inputs = op.inputs.map((edge) => {
      if (edge.index !== 0) throw new Error(`vertex ${digest} reads output ${edge.index} of ${edge.digest}; only the first output of an op can be consumed`)
      const v = vertices.get(edge.digest)
      if (v === undefined) throw new Error(`vertex ${digest} refers to ${edge.digest}, which is not in the graph`)
      return v
    })
    vertices.set(digest, {
      digest,
      name: vertexName(op, md),
      inputs,
      op: makeRunner(op, inputs.map((i) => def.ops.get(i.digest)!)),
      ignoreCache: md.ignoreCache === true || (opts.ignoreCache?.(md) ?? false),
    })
  }
  const heads = def.heads.map((h) => {
    if (h === null) return null
    if (h.index !== 0) throw new Error(`the build result is output ${h.index} of ${h.digest}; only first outputs are supported`)
    return vertices.get(h.digest) ?? null
  })
  return { heads, vertices }
}
