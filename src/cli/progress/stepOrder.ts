import type { SolveEvent, VertexEvent } from '../../solver/events.js'

/** `[2/5] RUN …`, `[build 2/5] RUN …`, `[linux/arm64 build 2/5] …`: the stage and the step's place in it. */
const POSITION = /^\[(?:(.*) )?(\d+)\/\d+\]/

/**
 * The solver reports a cache hit as soon as it finds it, and the steps below
 * a hit (which never needed to run) only when the solve ends, so a cached
 * run arrives as `[5/5]`, `[1/5]`, `[2/5]` …. This passes events through
 * unchanged except that a run of consecutive `cached` events is held and
 * released in step order (stages in the order their first held step came,
 * steps by their number), as BuildKit prints them. Plain, tty and the
 * history all use it, so their `#N` numbers stay the same.
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

/** Steps with a `[stage N/M]` position are sorted among the slots they hold; others keep their place. */
export function inStepOrder<T extends { name: string }> (events: readonly T[]): T[] {
  const placed = events.map((e, index) => {
    const m = POSITION.exec(e.name)
    return m === null ? undefined : { e, index, stage: m[1] ?? '', n: Number(m[2]) }
  })
  const positioned = placed.filter((p) => p !== undefined)
  // A stage ranks by where its lowest step came: the steps below a hit are reported bottom first.
  const rank = new Map<string, { n: number; index: number }>()
  for (const p of positioned) {
    const r = rank.get(p.stage)
    if (r === undefined || p.n < r.n) rank.set(p.stage, { n: p.n, index: p.index })
  }
  const sorted = [...positioned].sort((a, b) => rank.get(a.stage)!.index - rank.get(b.stage)!.index || a.n - b.n || a.index - b.index)
  let next = 0
  return placed.map((p, i) => p === undefined ? events[i]! : sorted[next++]!.e)
}
