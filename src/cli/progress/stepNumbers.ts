import type { SolveEvent } from '../../solver/events.js'

/**
 * The `#N` of each step, in order of first appearance in the event stream.
 * Plain progress and the build history number steps with the same rule, so
 * `tsbuild history logs BUILD 5` is the `#5` the user saw.
 */
export class StepNumbers {
  private readonly numbers = new Map<string, number>()

  of (key: string): number {
    let n = this.numbers.get(key)
    if (n === undefined) { n = this.numbers.size + 1; this.numbers.set(key, n) }
    return n
  }

  has (key: string): boolean {
    return this.numbers.has(key)
  }
}

/** The step an event belongs to: a vertex digest, or a progress item's id; warnings belong to none. */
export function stepKey (e: SolveEvent): string | undefined {
  switch (e.type) {
    case 'vertex':
    case 'log':
      return e.digest
    case 'progress':
      return e.digest ?? e.id
    case 'warning':
      return undefined
  }
}
