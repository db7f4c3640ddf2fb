import { SCRATCH_INPUT, type Edge, type Op, type OpMetadata } from './ops.js'
import type { State } from './state.js'
import { pickMetadata, type MarshalContext, type MetadataOptions, type Output, type Vertex } from './vertex.js'

class MergeVertex implements Vertex {
  constructor (readonly inputs: readonly Output[], readonly metadata: OpMetadata) {}

  toOp (edges: readonly Edge[], ctx: MarshalContext): Op {
    // Not deduplicated: the order of layers is the meaning of a merge.
    return { kind: 'merge', inputs: edges.map((e) => ({ digest: e.digest, index: e.index })), ...(ctx.constraints !== undefined ? { constraints: ctx.constraints } : {}) }
  }
}

class DiffVertex implements Vertex {
  readonly inputs: readonly Output[]

  constructor (private readonly lower: Output | null, private readonly upper: Output | null, readonly metadata: OpMetadata) {
    this.inputs = [lower, upper].filter((x): x is Output => x !== null)
  }

  toOp (edges: readonly Edge[], ctx: MarshalContext): Op {
    const inputs: Edge[] = []
    const indexOf = (e: Edge): number => {
      const i = inputs.findIndex((x) => x.digest === e.digest && x.index === e.index)
      return i >= 0 ? i : inputs.push(e) - 1
    }
    let k = 0
    const lower = this.lower === null ? SCRATCH_INPUT : indexOf(edges[k++]!)
    const upper = this.upper === null ? SCRATCH_INPUT : indexOf(edges[k++]!)
    return { kind: 'diff', inputs, lower, upper, ...(ctx.constraints !== undefined ? { constraints: ctx.constraints } : {}) }
  }
}

/**
 * Layer `states` in order (later on top). Scratch inputs are skipped; with
 * none left the result is scratch, with one it is that State itself. The
 * result keeps the first State's settings (env, dir, …).
 */
export function merge (states: readonly State[], opts: MetadataOptions = {}): State {
  if (states.length === 0) throw new Error('merge needs at least one state')
  const outs = states.map((s) => s.output()).filter((o): o is Output => o !== null)
  const first = states[0]!
  if (outs.length === 0) return first.withOutput(null)
  if (outs.length === 1) return states.find((s) => !s.isScratch())!
  return first.withOutput({ vertex: new MergeVertex(outs, pickMetadata(opts)), index: 0 })
}

/**
 * The changes from `lower` to `upper`, as a State that can be merged onto
 * another base. Two scratch States give scratch. Keeps `upper`'s settings.
 */
export function diff (lower: State, upper: State, opts: MetadataOptions = {}): State {
  if (lower.isScratch() && upper.isScratch()) return upper
  return upper.withOutput({ vertex: new DiffVertex(lower.output(), upper.output(), pickMetadata(opts)), index: 0 })
}
