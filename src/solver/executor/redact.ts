/** What a secret value is replaced with in a step's output. */
export const MASK = '****'

/**
 * Values shorter than this are not masked: replacing every `a` or `42` in a
 * log would garble it while hiding next to nothing.
 */
export const MIN_MASKED_BYTES = 4

/**
 * The byte strings to mask for some secret values: each value, the value
 * without surrounding whitespace (a file secret usually ends in a newline the
 * command that prints it drops), and each line of a multi-line value (a key
 * printed line by line). Longest first, so the longest match wins.
 */
export function maskedForms (values: readonly Uint8Array[]): Buffer[] {
  const forms = new Set<string>()
  for (const v of values) {
    // latin1 maps bytes to characters one to one, so any bytes survive the string round trip.
    const text = Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('latin1')
    forms.add(text)
    forms.add(trimAscii(text))
    for (const line of text.split('\n')) forms.add(trimAscii(line))
  }
  return [...forms]
    .filter((f) => Buffer.byteLength(f, 'latin1') >= MIN_MASKED_BYTES)
    .map((f) => Buffer.from(f, 'latin1'))
    .sort((a, b) => b.length - a.length)
}

/**
 * Masks secret values in one output stream as `****`, also a value split
 * across two chunks: the bytes at a chunk's end that could begin a value are
 * held back until the next chunk (or `end`) shows whether they do. Only such
 * bytes wait; everything else passes on at once.
 */
export class OutputRedactor {
  private readonly forms: Buffer[]
  private held: Buffer = Buffer.alloc(0)

  constructor (values: readonly Uint8Array[]) {
    this.forms = maskedForms(values)
  }

  /** The chunk's bytes that are safe to show now (possibly none). */
  write (chunk: Buffer): Buffer {
    if (this.forms.length === 0) return chunk
    const buf = this.held.length > 0 ? Buffer.concat([this.held, chunk]) : chunk
    const next = this.forms.map(() => -2)
    const parts: Buffer[] = []
    let pos = 0
    for (;;) {
      const found = this.earliest(buf, pos, next)
      if (found === undefined) break
      // A longer value may start here or just before and go on in the next chunk: wait for it.
      if (found.at > buf.length - this.forms[0]!.length) {
        const hold = this.partialStart(buf, pos)
        if (hold <= found.at) { this.held = buf.subarray(hold); return finish(parts, buf.subarray(pos, hold)) }
      }
      parts.push(buf.subarray(pos, found.at), Buffer.from(MASK))
      pos = found.at + found.length
    }
    const hold = this.partialStart(buf, pos)
    this.held = Buffer.from(buf.subarray(hold))
    return finish(parts, buf.subarray(pos, hold))
  }

  /**
   * What was held back, at the end of the stream, masked: it may hold a whole
   * value that was waiting to see whether a longer one went on.
   */
  end (): Buffer {
    const rest = this.held
    this.held = Buffer.alloc(0)
    const next = this.forms.map(() => -2)
    const parts: Buffer[] = []
    let pos = 0
    for (;;) {
      const found = this.earliest(rest, pos, next)
      if (found === undefined) break
      parts.push(rest.subarray(pos, found.at), Buffer.from(MASK))
      pos = found.at + found.length
    }
    return finish(parts, rest.subarray(pos))
  }

  /**
   * The earliest value at or after `from`. `next` remembers where each form
   * was last found in this buffer (-2: not searched yet, -1: no more), so a
   * form that is absent is searched for once per buffer rather than once per
   * match: a value printed 100,000 times must not make masking quadratic.
   */
  private earliest (buf: Buffer, from: number, next: number[]): { at: number; length: number } | undefined {
    let best: { at: number; length: number } | undefined
    for (let i = 0; i < this.forms.length; i++) {
      const f = this.forms[i]!
      if (next[i] !== -1 && next[i]! < from) next[i] = buf.indexOf(f, from)
      const at = next[i]!
      if (at >= 0 && (best === undefined || at < best.at)) best = { at, length: f.length }
    }
    return best
  }

  /** Where the longest end of `buf` (after `from`) that begins some value starts; buf.length when none does. */
  private partialStart (buf: Buffer, from: number): number {
    // Runs on every chunk. Each value is looked for only in the last bytes it
    // could start in (a key file's short lines in a few dozen bytes, not the
    // whole chunk), compared in place.
    let best = buf.length
    for (const f of this.forms) {
      for (let j = Math.max(from, buf.length - f.length + 1); j < best; j++) {
        if (buf[j] === f[0] && buf.compare(f, 0, buf.length - j, j) === 0) { best = j; break }
      }
    }
    return best
  }
}

function trimAscii (s: string): string {
  return s.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '')
}

function finish (parts: Buffer[], last: Buffer): Buffer {
  if (parts.length === 0) return Buffer.from(last)
  parts.push(last)
  return Buffer.concat(parts)
}
