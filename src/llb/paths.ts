import { posix } from 'node:path'
import { TsbuildError } from '../common/errors.js'

/**
 * Resolve `p` against the absolute directory `cwd` and clean it. With
 * `keepTrailingSlash`, a trailing `/` (or `/.`, or a bare `.`) survives, since
 * for a copy destination it means "into this directory".
 */
export function resolvePath (cwd: string, p: string, opts: { keepTrailingSlash?: boolean } = {}): string {
  const joined = posix.resolve('/', cwd, p)
  if (opts.keepTrailingSlash === true && joined !== '/' && (p.endsWith('/') || p.endsWith('/.') || p === '.')) return `${joined}/`
  return joined
}

/**
 * Split a command line into words like a POSIX shell would, without running
 * one: single quotes are literal, double quotes allow `\"`, `\\`, `\$`, `` \` ``
 * escapes, and a backslash outside quotes escapes the next character. No
 * expansion happens. Used by `run({ shlex })`.
 */
export function shlexSplit (s: string): string[] {
  const words: string[] = []
  let cur = ''
  let inWord = false
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!
    if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) { words.push(cur); cur = ''; inWord = false }
      continue
    }
    inWord = true
    if (c === '\\') {
      if (i + 1 < s.length) cur += s[++i]
      continue
    }
    if (c === "'") {
      const end = s.indexOf("'", i + 1)
      if (end < 0) throw new TsbuildError('INVALID_INSTRUCTION', `unterminated single quote in ${JSON.stringify(s)}`)
      cur += s.slice(i + 1, end)
      i = end
      continue
    }
    if (c === '"') {
      let j = i + 1
      for (; j < s.length && s[j] !== '"'; j++) {
        if (s[j] === '\\' && j + 1 < s.length && '"\\$`'.includes(s[j + 1]!)) j++
        cur += s[j]
      }
      if (j >= s.length) throw new TsbuildError('INVALID_INSTRUCTION', `unterminated double quote in ${JSON.stringify(s)}`)
      i = j
      continue
    }
    cur += c
  }
  if (inWord) words.push(cur)
  return words
}
