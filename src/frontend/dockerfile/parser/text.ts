/** Small string helpers with Go's notion of whitespace, so splitting matches BuildKit. */

/** Go's unicode.IsSpace. */
export function isSpace (c: string): boolean {
  const code = c.charCodeAt(0)
  if (code <= 0xff) return code === 0x20 || (code >= 0x09 && code <= 0x0d) || code === 0x85 || code === 0xa0
  return code === 0x1680 || (code >= 0x2000 && code <= 0x200a) || code === 0x2028 || code === 0x2029 ||
    code === 0x202f || code === 0x205f || code === 0x3000
}

export function trimLeftSpace (s: string): string {
  let i = 0
  while (i < s.length && isSpace(s[i]!)) i++
  return i === 0 ? s : s.slice(i)
}

export function trimSpace (s: string): string {
  let i = 0
  let j = s.length
  while (i < j && isSpace(s[i]!)) i++
  while (j > i && isSpace(s[j - 1]!)) j--
  return i === 0 && j === s.length ? s : s.slice(i, j)
}

/** The separator class BuildKit splits on: `[\t\v\f\r ]`. */
function isBlank (c: string): boolean {
  return c === ' ' || c === '\t' || c === '\v' || c === '\f' || c === '\r'
}

/**
 * Split on runs of blanks, like Go's regexp.Split with `[\t\v\f\r ]+`;
 * with `limit` the last part keeps the rest of the string untouched.
 */
export function splitBlanks (s: string, limit = Infinity): string[] {
  const parts: string[] = []
  let start = 0
  let i = 0
  while (i < s.length && parts.length < limit - 1) {
    if (isBlank(s[i]!)) {
      let j = i + 1
      while (j < s.length && isBlank(s[j]!)) j++
      parts.push(s.slice(start, i))
      start = j
      i = j
    } else {
      i++
    }
  }
  parts.push(s.slice(start))
  return parts
}
