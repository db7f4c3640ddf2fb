import type { StringDecoder } from 'node:string_decoder'
import type { SolveEvent } from '../../solver/events.js'
import { decodeChunk, formatBytes } from './plain.js'
import { StepNumbers, stepKey } from './stepNumbers.js'
import { NEVER_CACHED } from '../../solver/explain/explainer.js'

export interface TtyOptions {
  color: boolean
  columns: () => number
  rows?: () => number
  now?: () => number
  /** Minimum ms between redraws (default 100: at most ten a second). */
  interval?: number
}

interface TtyStep {
  number: number
  name: string
  status: 'running' | 'cached' | 'completed' | 'error' | 'cancelled'
  /** Why a running step did not hit the cache (shown under it while it runs). */
  missReason?: string
  started?: number
  ended?: number
  tail: string[]
  partial: string
  /** Per output stream: a character split between two chunks is decoded whole. */
  decoders: Array<StringDecoder | undefined>
  bytes?: { name: string; current: number; total?: number; done: boolean }
}

const TAIL_LINES = 6
/** The end of an unfinished line kept for the live view (wider than any terminal; a `\r` redraw shows its last part). */
const PARTIAL_SHOWN = 4096
const ESC = '\x1b['

/**
 * The live view buildx draws on a terminal: a `[+] Building` header, one line
 * per step with its time, the last few output lines of running steps, and
 * byte bars. The frame is redrawn in place (cursor up, clear line) at most
 * every `interval` ms and only when its text changed; `close` replaces it
 * with a summary of every step, headed FINISHED.
 */
export class TtyPrinter {
  private readonly numbers = new StepNumbers()
  private readonly steps = new Map<string, TtyStep>()
  private readonly warnings: string[] = []
  private readonly started: number
  private readonly now: () => number
  private lastFrame: string[] = []
  private timer: NodeJS.Timeout | undefined
  private closed = false

  constructor (private readonly out: NodeJS.WritableStream, private readonly opts: TtyOptions) {
    this.now = opts.now ?? Date.now
    this.started = this.now()
  }

  handle (e: SolveEvent): void {
    if (this.closed) return
    const key = stepKey(e)
    if (e.type === 'warning') this.warnings.push(e.message)
    if (key !== undefined) this.apply(key, e)
    this.schedule()
  }

  private apply (key: string, e: SolveEvent): void {
    let s = this.steps.get(key)
    if (s === undefined) {
      s = { number: this.numbers.of(key), name: '', status: 'running', tail: [], partial: '', decoders: [] }
      this.steps.set(key, s)
    }
    switch (e.type) {
      case 'vertex':
        s.name = e.name
        if (e.status === 'started') { s.status = 'running'; s.started = e.time; if (e.missReason !== undefined) s.missReason = e.missReason } else { s.status = e.status; s.ended = e.time }
        break
      case 'log': {
        const text = decodeChunk(s.decoders, e.stream, e.data)
        // An unfinished line only grows (see the plain printer); only its end is ever shown.
        if (!text.includes('\n')) { s.partial = (s.partial + text).slice(-PARTIAL_SHOWN); break }
        const lines = (s.partial + text).split('\n')
        s.partial = lines.pop()!.slice(-PARTIAL_SHOWN)
        s.tail = [...s.tail, ...lines.map(cleanLine)].slice(-TAIL_LINES)
        break
      }
      case 'progress':
        if (e.digest === undefined) {
          s.name = e.name
          s.started ??= e.time
          if (e.done === true) { s.status = 'completed'; s.ended = e.time }
        }
        s.bytes = { name: e.name, current: e.current, done: e.done === true, ...(e.total !== undefined ? { total: e.total } : {}) }
        break
    }
  }

  /** Redraw soon, throttled; a ticking timer keeps running steps' clocks moving. */
  private schedule (): void {
    if (this.timer !== undefined) return
    this.timer = setInterval(() => { this.render() }, this.opts.interval ?? 100)
    this.timer.unref()
  }

  /** Draw the live frame now if its text changed. */
  render (): void {
    if (this.closed) return
    this.draw(this.frame(false))
  }

  /** Replace the live frame with the final summary. */
  close (failed = false): void {
    if (this.closed) return
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
    this.draw(this.frame(true, failed))
    this.closed = true
  }

  private draw (lines: string[]): void {
    if (lines.length === this.lastFrame.length && lines.every((l, i) => l === this.lastFrame[i])) return
    let text = this.lastFrame.length > 0 ? `${ESC}${this.lastFrame.length}A` : ''
    for (const l of lines) text += `\r${ESC}2K${l}\n`
    if (lines.length < this.lastFrame.length) text += `${ESC}J`
    this.out.write(text)
    this.lastFrame = lines
  }

  private frame (final: boolean, failed = false): string[] {
    const width = Math.max(20, this.opts.columns() - 1) // the last column would wrap on some terminals
    const now = this.now()
    const all = [...this.steps.values()].sort((a, b) => a.number - b.number)
    const done = all.filter((s) => s.status !== 'running').length
    const elapsed = `${((now - this.started) / 1000).toFixed(1)}s`
    const lines: string[] = [fit(`[+] Building ${elapsed} (${done}/${all.length})${final ? (failed ? ' FINISHED with errors' : ' FINISHED') : ''}`, width)]
    const body: string[] = []
    for (const s of all) {
      const end = s.ended ?? now
      const time = s.status === 'cached' ? '0.0s' : `${((end - (s.started ?? end)) / 1000).toFixed(1)}s`
      const label = s.status === 'cached' ? 'CACHED ' : s.status === 'error' ? 'ERROR ' : s.status === 'cancelled' ? 'CANCELED ' : ''
      body.push(this.paint(row(` => ${label}${s.name}`, time, width), s.status === 'error' ? '31' : s.status === 'running' && !final ? '34' : undefined))
      if (final || s.status !== 'running') continue
      if (s.missReason !== undefined && s.missReason !== NEVER_CACHED) body.push(this.paint(fit(` => => cache miss: ${s.missReason}`, width), '2'))
      if (s.bytes !== undefined && s.bytes.total !== undefined && s.bytes.total > 0) body.push(row(` => => ${s.bytes.name} ${bar(s.bytes.current, s.bytes.total)}`, `${formatBytes(s.bytes.current)} / ${formatBytes(s.bytes.total)}`, width))
      for (const l of s.partial !== '' ? [...s.tail, cleanLine(s.partial)].slice(-TAIL_LINES) : s.tail) body.push(this.paint(fit(` => => # ${l}`, width), '2'))
    }
    if (!final) {
      // Keep the live frame on screen: a frame taller than the terminal cannot be redrawn in place.
      const room = Math.max(1, (this.opts.rows?.() ?? 1000) - 2)
      if (body.length > room) body.splice(0, body.length - room)
    }
    lines.push(...body)
    for (const w of this.warnings) lines.push(this.paint(fit(`WARNING: ${w}`, width), '33'))
    return lines
  }

  private paint (line: string, code: string | undefined): string {
    return this.opts.color && code !== undefined ? `${ESC}${code}m${line}${ESC}0m` : line
  }
}

/** `left` and `right` on one line of exactly `width` columns; `left` is cut to fit. */
function row (left: string, right: string, width: number): string {
  const room = width - right.length - 1
  if (room < 4) return fit(left, width)
  const l = fit(left, room)
  return l + ' '.repeat(width - l.length - right.length) + right
}

function fit (text: string, width: number): string {
  return text.length <= width ? text : text.slice(0, Math.max(0, width - 3)) + '...'
}

function bar (current: number, total: number): string {
  const n = 20
  const filled = Math.min(n, Math.floor((current / total) * n))
  return `[${'='.repeat(filled)}${filled < n ? '>' : ''}${' '.repeat(Math.max(0, n - filled - 1))}]`
}

/** One output line made safe to draw: no control sequences, tabs as spaces, only what follows a \r. */
function cleanLine (line: string): string {
  const cr = line.replace(/\r$/, '').lastIndexOf('\r')
  // eslint-disable-next-line no-control-regex
  return (cr >= 0 ? line.slice(cr + 1) : line).replace(/\r$/, '').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\t/g, '    ').replace(/[\x00-\x1f\x7f]/g, '')
}
