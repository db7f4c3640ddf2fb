/**
 * COPY and ADD sources match with these rules (BuildKit's), which differ
 * from .dockerignore patterns (`**` is `*`, `[!a]` negates): the copy, its
 * cache checksum and the context scan's follow paths must all use them.
 *
 * Go's filepath.Match for one path component: `*` (no `/`), `?`, `[a-z]`,
 * `[^x]`/`[!x]`, and `\` escapes. Compiled once per pattern to a RegExp.
 */
export function compileGoPattern (pattern: string): RegExp {
  let re = '^'
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!
    if (c === '*') re += '[^/]*'
    else if (c === '?') re += '[^/]'
    else if (c === '\\' && i + 1 < pattern.length) re += escapeRe(pattern[++i]!)
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2)
      if (end === -1) { re += '\\['; continue }
      let body = pattern.slice(i + 1, end)
      if (body.startsWith('^') || body.startsWith('!')) body = '^' + body.slice(1)
      re += `[${body.replace(/\\(.)/g, '\\$1').replace(/\//g, '')}]`
      i = end
    } else re += escapeRe(c)
  }
  return new RegExp(re + '$', 's')
}

function escapeRe (c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}
