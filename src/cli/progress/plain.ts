import type { Digest } from '../../common/digest.js'
import type { SolveEvent } from '../../solver/events.js'

/**
 * BuildKit's plain progress: `#N [stage i/n] INSTRUCTION`, log lines prefixed
 * with the seconds since the step started, then `#N DONE 1.2s`, `#N CACHED`
 * or `#N ERROR: ...`. Meant for CI logs: nothing is redrawn.
 */
export class PlainPrinter {
  private readonly ids = new Map<Digest, number>()
  private readonly started = new Map<Digest, number>()
  private readonly partial = new Map<Digest, string>()
  private next = 1
  private last: Digest | undefined

  constructor (private readonly out: NodeJS.WritableStream) {}

  private id (d: Digest): number {
    let n = this.ids.get(d)
    if (n === undefined) { n = this.next++; this.ids.set(d, n) }
    return n
  }

  private header (d: Digest, name: string): void {
    if (this.last !== d) {
      this.out.write(`\n#${this.id(d)} ${name}\n`)
      this.last = d
    }
  }

  handle (e: SolveEvent): void {
    switch (e.type) {
      case 'vertex': {
        const n = this.id(e.digest)
        if (e.status === 'started') {
          this.started.set(e.digest, e.time)
          this.last = undefined
          this.header(e.digest, e.name)
        } else if (e.status === 'cached') {
          this.last = undefined
          this.header(e.digest, e.name)
          this.out.write(`#${n} CACHED\n`)
        } else {
          this.flushPartial(e.digest)
          this.header(e.digest, e.name)
          const secs = ((e.time - (this.started.get(e.digest) ?? e.time)) / 1000).toFixed(1)
          if (e.status === 'completed') this.out.write(`#${n} DONE ${secs}s\n`)
          else if (e.status === 'cancelled') this.out.write(`#${n} CANCELED\n`)
          else this.out.write(`#${n} ERROR: ${e.error ?? 'failed'}\n`)
        }
        break
      }
      case 'log': {
        const name = this.ids.has(e.digest) ? '' : 'log'
        if (name !== '') this.id(e.digest)
        const start = this.started.get(e.digest) ?? e.time
        const text = (this.partial.get(e.digest) ?? '') + Buffer.from(e.data).toString('utf8')
        const lines = text.split('\n')
        this.partial.set(e.digest, lines.pop()!)
        if (lines.length === 0) break
        if (this.last !== e.digest) { this.out.write('\n'); this.last = e.digest }
        const t = ((e.time - start) / 1000).toFixed(3)
        for (const line of lines) this.out.write(`#${this.id(e.digest)} ${t} ${line}\n`)
        break
      }
      case 'progress':
        if (e.done === true) {
          const key = e.digest ?? (e.id as Digest)
          if (this.last !== key) { this.out.write('\n'); this.last = key }
          const size = e.total !== undefined && e.total > 1 ? ` ${formatBytes(e.total)}` : ''
          this.out.write(`#${this.id(key)} ${e.name}${size} done\n`)
        }
        break
      case 'warning':
        this.out.write(`\nWARNING: ${e.message}\n`)
        this.last = undefined
        break
    }
  }

  private flushPartial (d: Digest): void {
    const rest = this.partial.get(d)
    if (rest) {
      const start = this.started.get(d) ?? Date.now()
      this.out.write(`#${this.id(d)} ${((Date.now() - start) / 1000).toFixed(3)} ${rest}\n`)
    }
    this.partial.delete(d)
  }
}

export function formatBytes (n: number): string {
  if (n < 1024) return `${n}B`
  const units = ['kB', 'MB', 'GB', 'TB']
  let v = n
  let u = -1
  while (v >= 1000 && u < units.length - 1) { v /= 1000; u++ }
  return `${v.toFixed(v < 10 ? 2 : 1)}${units[u]}`
}
