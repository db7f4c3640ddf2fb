/**
 * COPY and ADD sources match with these rules (BuildKit's), which differ
 * from .dockerignore patterns (`**` is `*`, `[^a]` negates): the copy, its
 * cache checksum and the context scan's follow paths must all use them.
 *
 * Go's filepath.Match for one path component: `*` (no `/`), `?`, `[a-z]`,
 * `[^x]`, and `\` escapes. Compiled once per pattern to a RegExp.
 */
export function compileGoPattern (pattern: string): RegExp {
  let re = '^'
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!
    if (c === '*') re += '[^/]*'
    else if (c === '?') re += '[^/]'
    else if (c === '\\' && i + 1 < pattern.length) re += escapeRe(pattern[++i]!)
    else if (c === '[') {
      const end = classEnd(pattern, i)
      if (end === -1) { re += '\\['; continue }
      let body = pattern.slice(i + 1, end)
      // Only `^` negates (Go's rule; `[!a]` is the set of `!` and `a`).
      const isNegated = body.startsWith('^')
      if (isNegated) body = body.slice(1)
      re += `[${isNegated ? '^' : ''}${classBody(body)}]`
      i = end
    } else re += escapeRe(c)
  }
  // Unicode mode: `?` and a class match one character (a code point), as a Go rune.
  return new RegExp(re + '$', 'su')
}

function escapeRe (c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}

/** Index of the `]` closing the class opened at `open` (escapes skipped; a `]` first in the class is a member), or -1. */
function classEnd (pattern: string, open: number): number {
  let j = open + 1
  if (pattern[j] === '^') j++
  if (pattern[j] === ']') j++
  for (; j < pattern.length; j++) {
    if (pattern[j] === '\\') j++
    else if (pattern[j] === ']') return j
  }
  return -1
}

/**
 * A class's members as RegExp class text in unicode mode, where only the
 * characters special in a class may be escaped: `\x` keeps its escape only
 * for those, a bare `[` or `]` (a leading `]` is a member) gets one. `/`
 * never matches a path element, so it is dropped.
 */
function classBody (body: string): string {
  let out = ''
  for (let j = 0; j < body.length; j++) {
    let ch = body[j]!
    if (ch === '/') continue
    if (ch === '\\' && j + 1 < body.length) ch = body[++j]!
    else if (ch !== '[' && ch !== ']') { out += ch; continue }
    out += /[\\\][^-]/.test(ch) ? `\\${ch}` : ch
  }
  return out
}
