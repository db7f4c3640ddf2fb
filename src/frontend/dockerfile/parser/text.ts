/**
 * Small string helpers with Go's notion of whitespace, so splitting matches
 * BuildKit. They lean on regular expressions and native string methods
 * rather than character loops: a Dockerfile is converted once per build, in
 * a fresh process, where a loop in JavaScript still runs in the interpreter
 * and a regular expression already runs as native code.
 */

/** Go's unicode.IsSpace as a character class (not JavaScript's `\s`: that adds U+FEFF and lacks U+0085). */
export const SPACE_CLASS = '\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000'

const LEADING_SPACE = new RegExp(`^[${SPACE_CLASS}]+`)
const WORDS = new RegExp(`[^${SPACE_CLASS}]+`, 'g')

/** Go's unicode.IsSpace for one UTF-16 code unit. */
export function isSpaceCode (code: number): boolean {
  if (code <= 0xff) return code === 0x20 || (code >= 0x09 && code <= 0x0d) || code === 0x85 || code === 0xa0
  return code === 0x1680 || (code >= 0x2000 && code <= 0x200a) || code === 0x2028 || code === 0x2029 ||
    code === 0x202f || code === 0x205f || code === 0x3000
}

/** Go's unicode.IsSpace. */
export function isSpace (c: string): boolean {
  return isSpaceCode(c.charCodeAt(0))
}

/** Printable ASCII other than space: the common first and last character, which needs no trimming. */
const isPlainCode = (code: number): boolean => code > 0x20 && code < 0x7f

export function trimLeftSpace (s: string): string {
  if (s.length === 0 || isPlainCode(s.charCodeAt(0))) return s
  const m = LEADING_SPACE.exec(s)
  return m === null ? s : s.slice(m[0].length)
}

export function trimSpace (s: string): string {
  const n = s.length
  if (n === 0 || (isPlainCode(s.charCodeAt(0)) && isPlainCode(s.charCodeAt(n - 1)))) return s
  const left = trimLeftSpace(s)
  // Trailing space is scanned from the end: a `[…]+$` pattern would retry
  // from every space run inside the string.
  let j = left.length
  while (j > 0 && isSpaceCode(left.charCodeAt(j - 1))) j--
  return j === left.length ? left : left.slice(0, j)
}

/** Runs of non-space characters (Go's strings.Fields). */
export function fields (s: string): string[] {
  return s.match(WORDS) ?? []
}

/** The separator class BuildKit splits on: `[\t\v\f\r ]`. */
const BLANKS = /[\t\v\f\r ]+/g
const BLANK_RUN = /[\t\v\f\r ]+/

/**
 * Split on runs of blanks, like Go's regexp.Split with `[\t\v\f\r ]+`;
 * with `limit` the last part keeps the rest of the string untouched.
 */
export function splitBlanks (s: string, limit = Infinity): string[] {
  if (limit === Infinity) return s.split(BLANK_RUN)
  if (limit === 2) {
    const m = BLANK_RUN.exec(s)
    return m === null ? [s] : [s.slice(0, m.index), s.slice(m.index + m[0].length)]
  }
  const parts: string[] = []
  let start = 0
  BLANKS.lastIndex = 0
  while (parts.length < limit - 1) {
    const m = BLANKS.exec(s)
    if (m === null) break
    parts.push(s.slice(start, m.index))
    start = BLANKS.lastIndex
  }
  parts.push(s.slice(start))
  return parts
}
