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
  /** Per output stream: the unfinished last line (the two streams' never merge). */
  partials: string[]
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
      s = { number: this.numbers.of(key), name: '', status: 'running', tail: [], partials: [], decoders: [] }
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
        const partial = s.partials[e.stream] ?? ''
        if (!text.includes('\n')) { s.partials[e.stream] = (partial + text).slice(-PARTIAL_SHOWN); break }
        const lines = (partial + text).split('\n')
        s.partials[e.stream] = lines.pop()!.slice(-PARTIAL_SHOWN)
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
      const unfinished = s.partials.filter((p) => p !== '').map(cleanLine)
      for (const l of [...s.tail, ...unfinished].slice(-TAIL_LINES)) body.push(this.paint(fit(` => => # ${l}`, width), '2'))
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
  return l + ' '.repeat(Math.max(0, width - displayWidth(l) - right.length)) + right
}

/** `text` cut to `width` terminal columns (a wide character takes two), with `...` when cut. */
function fit (text: string, width: number): string {
  const room = Math.max(0, width - 3)
  let used = 0
  let cut = -1
  for (let i = 0; i < text.length;) {
    const cp = text.codePointAt(i)!
    const next = i + (cp > 0xffff ? 2 : 1)
    used += charColumns(cp)
    if (used > room && cut < 0) cut = i
    if (used > width) return text.slice(0, cut) + '...'
    i = next
  }
  return text
}

function displayWidth (text: string): number {
  let w = 0
  for (const ch of text) w += charColumns(ch.codePointAt(0)!)
  return w
}

/**
 * Columns a character takes on a terminal: 2 for East Asian wide characters
 * and emoji (a frame that counted them as one wrapped and could no longer be
 * redrawn in place), 0 for combining marks and variation selectors, else 1.
 */
function charColumns (cp: number): number {
  if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0xfe00 && cp <= 0xfe0f)) return 0
  if ((cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0x303e) || (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) || (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) || (cp >= 0x20000 && cp <= 0x3fffd)) return 2
  return 1
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
  return (cr >= 0 ? line.slice(cr + 1) : line).replace(/\r$/, '').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\t/g, '    ').replace(/[\x00-\x1f\x7f-\x9f]/g, '').replace(/^[\udc00-\udfff]/, '')
}
