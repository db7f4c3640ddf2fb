import type { SolveEvent, VertexEvent } from '../../solver/events.js'

/** `[2/5] RUN …`, `[build 2/5] RUN …`, `[linux/arm64 build 2/5] …`: the stage and the step's place in it. */
const POSITION = /^\[(?:(.*) )?(\d+)\/\d+\]/

/**
 * The solver reports the steps below a cache hit before the hit, bottom
 * first, and the steps no hit reached when the solve ends, not always in
 * step order. This passes events through unchanged except that a run of
 * consecutive `cached` events is held and released with each stage's steps
 * in step order (see inStepOrder). Plain, tty and the history all use it, so
 * their `#N` numbers stay the same.
 */
export class CachedStepOrder {
  private held: VertexEvent[] = []

  constructor (private readonly next: (e: SolveEvent) => void) {}

  handle (e: SolveEvent): void {
    if (e.type === 'vertex' && e.status === 'cached') { this.held.push(e); return }
    this.flush()
    this.next(e)
  }

  /** Release what is held (the next event came, or the build ended). */
  flush (): void {
    if (this.held.length === 0) return
    const held = this.held
    this.held = []
    for (const e of inStepOrder(held)) this.next(e)
  }
}

/**
 * Each stage's steps are put in step order within the slots that stage's
 * events hold; everything else keeps its place. The solver reports cached
 * steps deps first, so stages stay interleaved as they depend on each other
 * (a stage copied from comes before the COPY that reads it), as in BuildKit.
 */
export function inStepOrder<T extends { name: string }> (events: readonly T[]): T[] {
  const byStage = new Map<string, Array<{ e: T; index: number; n: number }>>()
  events.forEach((e, index) => {
    const m = POSITION.exec(e.name)
    if (m === null) return
    const stage = m[1] ?? ''
    let list = byStage.get(stage)
    if (list === undefined) byStage.set(stage, list = [])
    list.push({ e, index, n: Number(m[2]) })
  })
  const out = [...events]
  for (const list of byStage.values()) {
    const sorted = [...list].sort((a, b) => a.n - b.n || a.index - b.index)
    list.forEach((slot, k) => { out[slot.index] = sorted[k]!.e })
  }
  return out
}
