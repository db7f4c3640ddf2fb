import type { Digest } from '../common/digest.js'
import type { Definition, MultiDefinition } from './definition.js'
import { SCRATCH_INPUT, SKIP_OUTPUT, type FileActionSpec, type Op, type OpMetadata } from './ops.js'

/** How many outputs an op has (valid Edge indices are 0 … n-1). */
export function outputCount (op: Op): number {
  switch (op.kind) {
    case 'exec':
      return op.mounts.filter((m) => m.output !== SKIP_OUTPUT).length
    case 'file':
      return op.actions.filter((a) => a.output !== SKIP_OUTPUT).length
    default:
      return 1
  }
}

/**
 * A display name for progress output: the custom name when there is one,
 * else a short BuildKit-like summary (`docker-image://…`, the argv,
 * `mkdir /x`, `copy /a /b`, `merge (2 inputs)`).
 */
export function vertexName (op: Op, metadata?: OpMetadata): string {
  if (metadata?.customName !== undefined && metadata.customName !== '') return metadata.customName
  switch (op.kind) {
    case 'source':
      return op.identifier
    case 'exec':
      return op.meta.args.join(' ')
    case 'file':
      return op.actions.map((a) => describeAction(a.action)).join(', ')
    case 'merge':
      return `merge (${op.inputs.length} inputs)`
    case 'diff':
      return 'diff'
  }
}

function describeAction (a: FileActionSpec): string {
  switch (a.type) {
    case 'copy': return `copy ${a.src} ${a.dest}`
    case 'mkdir': return `mkdir ${a.path}`
    case 'mkfile': return `mkfile ${a.path}`
    case 'rm': return `rm ${a.path}`
    case 'symlink': return `symlink ${a.oldpath} -> ${a.newpath}`
  }
}

/**
 * Check the structural invariants the solver relies on: ops in topological
 * order, every input edge names an earlier op and one of its outputs, mount
 * and file-action indices are in range (a file action only refers to
 * earlier actions), output indices are 0 … n-1 without gaps, and the heads
 * exist. Builder output always passes; this guards definitions that arrive
 * from elsewhere. Throws a plain Error naming the vertex and the problem.
 */
export function validateDefinition (def: Definition | MultiDefinition): void {
  const outputs = new Map<Digest, number>()
  for (const [d, op] of def.ops) {
    const fail = (why: string): never => { throw new Error(`invalid LLB vertex ${d} (${op.kind}): ${why}`) }
    op.inputs.forEach((e, i) => {
      const n = outputs.get(e.digest)
      if (n === undefined) fail(`input ${i} refers to ${e.digest}, which is not an earlier vertex`)
      if (!Number.isInteger(e.index) || e.index < 0 || e.index >= n!) fail(`input ${i} uses output ${e.index} of ${e.digest}, which has ${n}`)
    })
    const inRange = (idx: number, limit: number, what: string): void => {
      if (idx !== SCRATCH_INPUT && (!Number.isInteger(idx) || idx < 0 || idx >= limit)) fail(`${what} ${idx} is out of range`)
    }
    if (op.kind === 'exec') {
      op.mounts.forEach((m) => inRange(m.input, op.inputs.length, `mount ${m.dest} input`))
      if (!op.mounts.some((m) => m.dest === '/')) fail('no root mount')
      checkOutputs(op.mounts.map((m) => m.output), fail)
    } else if (op.kind === 'file') {
      if (op.actions.length === 0) fail('no actions')
      op.actions.forEach((a, i) => {
        inRange(a.input, op.inputs.length + i, `action ${i} input`)
        inRange(a.secondaryInput, op.inputs.length + i, `action ${i} secondary input`)
      })
      checkOutputs(op.actions.map((a) => a.output), fail)
    } else if (op.kind === 'diff') {
      inRange(op.lower, op.inputs.length, 'lower')
      inRange(op.upper, op.inputs.length, 'upper')
    } else if (op.kind === 'source' && op.inputs.length > 0) {
      fail('a source has no inputs')
    }
    outputs.set(d, outputCount(op))
  }
  const heads = 'heads' in def ? def.heads : [def.head]
  for (const h of heads) {
    if (h === null) continue
    const n = outputs.get(h.digest)
    if (n === undefined || h.index < 0 || h.index >= n) throw new Error(`invalid LLB definition: head ${h.digest}:${h.index} is not an output of any vertex`)
  }
}

function checkOutputs (outs: readonly number[], fail: (why: string) => never): void {
  const used = outs.filter((o) => o !== SKIP_OUTPUT).sort((a, b) => a - b)
  used.forEach((o, i) => { if (o !== i) fail(`outputs must be numbered 0…${used.length - 1}, got ${used.join(',')}`) })
}
