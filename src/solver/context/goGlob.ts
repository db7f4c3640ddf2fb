/**
 * COPY and ADD sources match with these rules (BuildKit's), which differ
 * from .dockerignore patterns (`**` is `*`, `[^a]` negates): the copy, its
 * cache checksum and the context scan's follow paths must all use them.
 *
 * Go's filepath.Match for one path component: `*` (no `/`), `?`, `[a-z]`,
 * `[^x]`, and `\` escapes, with Go's grammar: a pattern Go rejects (an
 * unclosed or empty class, a `-` or `]` where a class member belongs, a
 * trailing `\`) is an error here too, and a range whose ends are reversed
 * is valid and matches nothing. Compiled once per pattern to a RegExp.
 */
import { TsbuildError } from '../../common/errors.js'

export function compileGoPattern (pattern: string): RegExp {
  let re = '^'
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!
    if (c === '*') re += '[^/]*'
    else if (c === '?') re += '[^/]'
    else if (c === '\\') {
      if (i + 1 === pattern.length) throw badPattern(pattern)
      re += escapeRe(pattern[++i]!)
    } else if (c === '[') {
      const cls = parseClass(pattern, i)
      re += cls.re
      i = cls.end
    } else re += escapeRe(c)
  }
  // Unicode mode: `?` and a class match one character (a code point), as a Go rune.
  return new RegExp(re + '$', 'su')
}

function badPattern (pattern: string): TsbuildError {
  return new TsbuildError('INVALID_INSTRUCTION', `syntax error in pattern ${JSON.stringify(pattern)}`, { hint: 'a [ starts a class of characters, closed by ]; for a name with [ in it, write [[] for the [ (COPY arr[[]0].txt …)' })
}

function escapeRe (c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}

/** A class member in RegExp class text (unicode mode allows escaping only syntax characters). */
function classChar (c: string): string {
  return /[\\\][^-]/.test(c) ? `\\${c}` : c
}

/**
 * The class opened at `open`, as Go's matchChunk reads it: `^` negates, then
 * one member or `lo-hi` range after another (each end a character or a `\`
 * escape, never a bare `-` or `]`) until a `]` that follows at least one.
 * Returns the RegExp text and the index of the closing `]`.
 */
function parseClass (pattern: string, open: number): { re: string; end: number } {
  // One class member: [character, index after it]; Go's getEsc.
  const member = (at: number): [string, number] => {
    const cp = pattern.codePointAt(at)
    if (cp === undefined) throw badPattern(pattern)
    let ch = String.fromCodePoint(cp)
    if (ch === '-' || ch === ']') throw badPattern(pattern)
    if (ch === '\\') {
      const next = pattern.codePointAt(at + 1)
      if (next === undefined) throw badPattern(pattern)
      ch = String.fromCodePoint(next)
      return [ch, at + 1 + ch.length]
    }
    return [ch, at + ch.length]
  }
  let i = open + 1
  const isNegated = pattern[i] === '^'
  if (isNegated) i++
  let body = ''
  let members = 0
  for (;;) {
    if (i >= pattern.length) throw badPattern(pattern)
    if (pattern[i] === ']' && members > 0) break
    const [lo, afterLo] = member(i)
    i = afterLo
    let hi = lo
    if (pattern[i] === '-') {
      const [h, afterHi] = member(i + 1)
      hi = h
      i = afterHi
    }
    members++
    // A path element never holds `/`; a reversed range holds nothing (valid in Go).
    if (lo === '/' && hi === '/') continue
    if (lo.codePointAt(0)! > hi.codePointAt(0)!) continue
    body += lo === hi ? classChar(lo) : `${classChar(lo)}-${classChar(hi)}`
  }
  if (body === '') return { re: isNegated ? '[^/]' : '(?!)', end: i }
  return { re: `[${isNegated ? '^/' : ''}${body}]`, end: i }
}
