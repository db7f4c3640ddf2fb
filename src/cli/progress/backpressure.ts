import type { Writable } from 'node:stream'
import type { SolveEvent } from '../../solver/events.js'

const pending = new WeakMap<Writable, Promise<void>>()

/**
 * Settles once `out` takes writes again ('drain'), or never will ('error',
 * 'close'): a reader that went away must not stall the build. One promise
 * per stream while it is full, so parallel steps share the listeners.
 */
export function whenDrained (out: Writable): Promise<void> {
  if (out.destroyed || out.writableEnded) return Promise.resolve()
  let p = pending.get(out)
  if (p !== undefined) return p
  p = new Promise<void>((resolve) => {
    const done = (): void => {
      out.off('drain', done).off('error', done).off('close', done)
      pending.delete(out)
      resolve()
    }
    out.on('drain', done).on('error', done).on('close', done)
  })
  pending.set(out, p)
  return p
}

/** After writing a log event to `out`: when `out`'s buffer is full, the step's output pauses until it drains. */
export function holdWhileFull (e: SolveEvent, out: Writable): void {
  if (e.type !== 'log' || e.backpressure === undefined) return
  if (out.writableNeedDrain) e.backpressure.wait(whenDrained(out))
}
