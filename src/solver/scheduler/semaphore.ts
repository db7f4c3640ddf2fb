import { TsbuildError } from '../../common/errors.js'

/** Counting semaphore whose waits end early when the signal aborts. */
export class Semaphore {
  private available: number
  private readonly waiters: Array<() => void> = []

  constructor (readonly size: number) {
    this.available = size
  }

  async acquire (signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) throw cancelled(signal)
    if (this.available > 0) {
      this.available--
      return this.releaser()
    }
    await new Promise<void>((resolve, reject) => {
      const wake = (): void => { signal?.removeEventListener('abort', onAbort); resolve() }
      const onAbort = (): void => {
        const i = this.waiters.indexOf(wake)
        if (i !== -1) this.waiters.splice(i, 1)
        reject(cancelled(signal!))
      }
      this.waiters.push(wake)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
    return this.releaser()
  }

  private releaser (): () => void {
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.waiters.shift()
      if (next !== undefined) next() // hand the slot over directly
      else this.available++
    }
  }
}

export function cancelled (signal: AbortSignal): TsbuildError {
  const reason = signal.reason instanceof Error ? signal.reason.message : 'cancelled'
  return new TsbuildError('CANCELLED', reason)
}
