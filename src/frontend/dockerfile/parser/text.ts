/**
 * Small string helpers with Go's notion of whitespace, so splitting matches
 * BuildKit. They lean on regular expressions and native string methods
 * rather than character loops: a Dockerfile is converted once per build, in
 * a fresh process, where a loop in JavaScript still runs in the interpreter
 * and a regular expression already runs as native code.
 */

import { fields, isGoSpace as isSpaceCode, SPACE_CLASS } from '../goSpace.js'

export { fields, isSpaceCode, SPACE_CLASS }

const LEADING_SPACE = new RegExp(`^[${SPACE_CLASS}]+`)

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
