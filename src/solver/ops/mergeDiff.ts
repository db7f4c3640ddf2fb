import { canonicalJson, sha256 } from '../../common/digest.js'
import { TsbuildError } from '../../common/errors.js'
import { encodeOpForCache, SCRATCH_INPUT, type DiffOp, type MergeOp } from '../../llb/index.js'
import type { CacheRecord } from '../../cache/index.js'
import type { CacheMap, OpRunner, Result } from '../scheduler/index.js'
import { layersOf } from './types.js'

/**
 * MergeOp stacks its inputs' layers (later inputs on top), which is what
 * COPY --link needs: the copied layer does not depend on the base, so a new
 * base does not invalidate it. Nothing is copied; the result is a list.
 */
export class MergeRunner implements OpRunner {
  readonly resource = 'none'
  constructor (private readonly op: MergeOp) {}

  async cacheMap (): Promise<CacheMap> {
    return { digest: sha256(canonicalJson(encodeOpForCache(this.op))), deps: this.op.inputs.map(() => ({})) }
  }

  async exec (_ctx: unknown, inputs: Result[]): Promise<Result> {
    const layers: string[] = []
    for (const input of inputs) {
      for (const l of await layersOf(input)) {
        // overlayfs refuses the same lowerdir twice; the upper occurrence wins anyway.
        const i = layers.indexOf(l)
        if (i !== -1) layers.splice(i, 1)
        layers.push(l)
      }
    }
    return { layers }
  }

  load (record: CacheRecord): Result {
    return { layers: record.layers ?? [] }
  }
}

/** DiffOp for the case the Dockerfile frontend produces: `lower` is a prefix of `upper`. */
export class DiffRunner implements OpRunner {
  readonly resource = 'none'
  constructor (private readonly op: DiffOp) {}

  async cacheMap (): Promise<CacheMap> {
    return { digest: sha256(canonicalJson(encodeOpForCache(this.op))), deps: this.op.inputs.map(() => ({})) }
  }

  async exec (_ctx: unknown, inputs: Result[]): Promise<Result> {
    const lower = this.op.lower === SCRATCH_INPUT ? [] : await layersOf(inputs[this.op.lower])
    const upper = this.op.upper === SCRATCH_INPUT ? [] : await layersOf(inputs[this.op.upper])
    if (lower.some((l, i) => upper[i] !== l)) {
      throw new TsbuildError('INVALID_INSTRUCTION', 'a diff between unrelated states is not supported: the lower state must be an ancestor of the upper one')
    }
    return { layers: upper.slice(lower.length) }
  }

  load (record: CacheRecord): Result {
    return { layers: record.layers ?? [] }
  }
}
