import { StringDecoder } from 'node:string_decoder'
import type { Digest } from '../../common/digest.js'
import type { ProgressEvent, SolveEvent, VertexEvent } from '../../solver/events.js'
import { StepNumbers, stepKey } from './stepNumbers.js'
import { NEVER_CACHED } from '../../solver/explain/explainer.js'
import { shortenForDisplay } from '../../common/shorten.js'

/**
 * A chunk of a step's output stream as text. One decoder per stream
 * (`decoders[stream]`, made on first use) keeps a character split between
 * two chunks whole.
 */
export function decodeChunk (decoders: Array<StringDecoder | undefined>, stream: number, data: Uint8Array): string {
  return (decoders[stream] ??= new StringDecoder('utf8')).write(Buffer.from(data.buffer, data.byteOffset, data.byteLength))
}

/** A step's name is its instruction: long RUN lines are printed whole up to here (several lines of a terminal). */
export const NAME_CHARS = 1000

/**
 * An unfinished line longer than this is printed as a line of its own and
 * the rest follows on the next: output without newlines (a binary written to
 * stdout) must not grow in memory, and nothing is clipped.
 */
export const PARTIAL_LINE_CHARS = 1024 * 1024

interface StepState {
  number: number
  name: string
  started?: number
  /**
   * Per output stream (1 stdout, 2 stderr): the output after the last
   * newline, printed when the line completes or the step ends (the two
   * streams' unfinished lines never merge), and the decoder that keeps a
   * character split between two chunks whole.
   */
  partials: string[]
  decoders: Array<StringDecoder | undefined>
  done: boolean
}

/**
 * BuildKit's plain progress, for logs and pipes; nothing is ever redrawn.
 * Each step is a block: `#N NAME`, output lines `#N 1.234 text` (seconds
 * since the step started), then `#N DONE 1.2s`, `#N CACHED` or `#N ERROR: …`.
 * When parallel steps interleave, the block being left gets `#N ...` and the
 * one being entered gets its header again, so every block reads on its own.
 */
export class PlainPrinter {
  private readonly numbers = new StepNumbers()
  private readonly steps = new Map<string, StepState>()
  private current: string | undefined
  private wroteAny = false

  constructor (private readonly out: NodeJS.WritableStream) {}

  handle (e: SolveEvent): void {
    const key = stepKey(e)
    if (e.type === 'warning') {
      this.leave()
      this.write(`${this.wroteAny ? '\n' : ''}WARNING: ${e.message}\n`)
      return
    }
    if (key === undefined) return
    switch (e.type) {
      case 'vertex': return this.vertex(key, e)
      case 'log': return this.log(key, e.stream, e.data, e.time)
      case 'progress': return this.progress(key, e)
    }
  }

  /** Print what is left of unfinished lines (the build ended). */
  close (): void {
    for (const [key, s] of this.steps) {
      s.decoders.forEach((d, stream) => { if (d !== undefined) s.partials[stream] = (s.partials[stream] ?? '') + d.end() })
      this.flushPartials(key, s, Date.now())
    }
  }

  private step (key: string, name: string): StepState {
    let s = this.steps.get(key)
    if (s === undefined) {
      s = { number: this.numbers.of(key), name, partials: [], decoders: [], done: false }
      this.steps.set(key, s)
    }
    if (name !== '') s.name = name
    return s
  }

  /** Make `key` the current block, closing the previous one with `#N ...` when it is unfinished. */
  private enter (key: string, s: StepState): void {
    if (this.current === key) return
    this.leave()
    this.write(`${this.wroteAny ? '\n' : ''}#${s.number} ${shortenForDisplay(s.name, NAME_CHARS)}\n`)
    this.current = key
  }

  private leave (): void {
    if (this.current === undefined) return
    const prev = this.steps.get(this.current)
    if (prev !== undefined && !prev.done) this.write(`#${prev.number} ...\n`)
    this.current = undefined
  }

  private vertex (key: string, e: VertexEvent): void {
    const s = this.step(key, e.name)
    switch (e.status) {
      case 'started':
        s.started = e.time
        this.enter(key, s)
        if (e.missReason !== undefined && e.missReason !== NEVER_CACHED) this.write(`#${s.number} cache miss: ${e.missReason}\n`)
        return
      case 'cached':
        s.done = true
        this.enter(key, s)
        this.write(`#${s.number} CACHED\n`)
        return
      default:
        this.enter(key, s)
        this.flushPartials(key, s, e.time)
        s.done = true
        if (e.status === 'completed') this.write(`#${s.number} DONE ${seconds(e.time - (s.started ?? e.time))}\n`)
        else if (e.status === 'cancelled') this.write(`#${s.number} CANCELED\n`)
        // Only the first line: the full message (with the output's tail) follows in the error report.
        else this.write(`#${s.number} ERROR: ${(e.error ?? 'failed').split('\n')[0]}\n`)
    }
  }

  private log (key: string, stream: number, data: Uint8Array, time: number): void {
    const s = this.step(key, '')
    const text = decodeChunk(s.decoders, stream, data)
    // A line still without its end only grows: re-splitting it at every chunk
    // made a 40 MB line of output take half a minute.
    const partial = s.partials[stream] ?? ''
    if (!text.includes('\n')) {
      s.partials[stream] = partial + text
      if (partial.length + text.length > PARTIAL_LINE_CHARS) this.flushPartials(key, s, time, stream)
      return
    }
    const lines = (partial + text).split(/\r?\n/)
    s.partials[stream] = lines.pop()!
    if (lines.length === 0) return
    this.enter(key, s)
    const prefix = `#${s.number} ${((time - (s.started ?? time)) / 1000).toFixed(3)} `
    // One write per chunk: a write per line cost a queued request each on a slow pipe.
    let printed = ''
    for (const line of lines) printed += `${prefix}${stripControl(line)}\n`
    this.write(printed)
  }

  /** Print unfinished lines: every stream's, or only `only`'s. */
  private flushPartials (key: string, s: StepState, time: number, only?: number): void {
    for (let stream = 0; stream < s.partials.length; stream++) {
      if (only !== undefined && stream !== only) continue
      const rest = s.partials[stream]
      if (rest === undefined || rest === '') continue
      s.partials[stream] = ''
      this.enter(key, s)
      this.write(`#${s.number} ${((time - (s.started ?? time)) / 1000).toFixed(3)} ${stripControl(rest)}\n`)
    }
  }

  private progress (key: string, e: ProgressEvent): void {
    if (e.digest === undefined) {
      // A step of its own (exporting, pushing): a header when it starts, DONE when it ends.
      const s = this.step(key, e.name)
      s.started ??= e.time
      this.enter(key, s)
      if (e.done === true) {
        s.done = true
        this.write(`#${s.number} DONE ${seconds(e.time - s.started)}\n`)
      }
      return
    }
    if (e.done !== true) return
    const s = this.step(e.digest as Digest, '')
    this.enter(e.digest, s)
    const size = e.total !== undefined && e.total > 1 ? ` ${formatBytes(e.total)}` : ''
    this.write(`#${s.number} ${e.name}${size} done\n`)
  }

  private write (text: string): void {
    this.out.write(text)
    this.wroteAny = true
  }
}

function seconds (ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(1)}s`
}

/** Carriage returns and cursor movement from a step's output would garble a log; keep what follows the last \r. */
function stripControl (line: string): string {
  const cr = line.lastIndexOf('\r')
  // eslint-disable-next-line no-control-regex
  return (cr >= 0 ? line.slice(cr + 1) : line).replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
}

export function formatBytes (n: number): string {
  if (n < 1000) return `${n}B`
  const units = ['kB', 'MB', 'GB', 'TB']
  let v = n
  let u = -1
  while (v >= 1000 && u < units.length - 1) { v /= 1000; u++ }
  return `${v.toFixed(v < 10 ? 2 : 1)}${units[u]}`
}
