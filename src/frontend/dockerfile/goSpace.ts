/**
 * Go's notion of whitespace (unicode.IsSpace), which is what separates words
 * in BuildKit's parser and word lexer; shared by both here.
 */

/** Go's unicode.IsSpace as a character class (not JavaScript's `\s`: that adds U+FEFF and lacks U+0085). */
export const SPACE_CLASS = '\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000'

const FIELDS = new RegExp(`[^${SPACE_CLASS}]+`, 'g')

/** Go's unicode.IsSpace for one UTF-16 code unit. */
export function isGoSpace (code: number): boolean {
  if (code <= 0xff) return code === 0x20 || (code >= 0x09 && code <= 0x0d) || code === 0x85 || code === 0xa0
  return code === 0x1680 || (code >= 0x2000 && code <= 0x200a) || code === 0x2028 || code === 0x2029 ||
    code === 0x202f || code === 0x205f || code === 0x3000
}

/** Runs of non-space characters (Go's strings.Fields). */
export function fields (s: string): string[] {
  return s.match(FIELDS) ?? []
}
