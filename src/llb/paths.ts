import { posix } from 'node:path'
import { TsbuildError } from '../common/errors.js'

/**
 * Resolve `p` against the absolute directory `cwd` and clean it. With
 * `keepTrailingSlash`, a trailing `/` (or `/.`, or a bare `.`) survives, since
 * for a copy destination it means "into this directory".
 */
export function resolvePath (cwd: string, p: string, opts: { keepTrailingSlash?: boolean } = {}): string {
  // Nearly every path a Dockerfile gives is already clean, and this runs for
  // every COPY, WORKDIR and mount; path.resolve is the slow general case.
  const candidate = p.charCodeAt(0) === SLASH ? p : cwd === '/' ? `/${p}` : `${cwd}/${p}`
  const joined = isCleanAbsolute(candidate) ? stripTrailingSlash(candidate) : posix.resolve('/', cwd, p)
  if (opts.keepTrailingSlash === true && joined !== '/' && (p.endsWith('/') || p.endsWith('/.') || p === '.')) return `${joined}/`
  return joined
}

const SLASH = 47

/** An empty, `.` or `..` segment (a trailing `/` alone is fine). */
const UNCLEAN_SEGMENT = /\/\/|\/\.{1,2}(?:\/|$)/

/** Absolute, with no empty, `.` or `..` segment (a trailing `/` is allowed): what path.resolve would return unchanged, give or take that slash. */
function isCleanAbsolute (s: string): boolean {
  return s.charCodeAt(0) === SLASH && !UNCLEAN_SEGMENT.test(s)
}

function stripTrailingSlash (s: string): string {
  return s.length > 1 && s.charCodeAt(s.length - 1) === SLASH ? s.slice(0, -1) : s
}

/**
 * `path.posix.join('/', p)`: `p` made absolute and cleaned, keeping a
 * trailing `/`. Cheaper than the general join for the clean paths
 * Dockerfiles nearly always give.
 */
export function joinRoot (p: string): string {
  const joined = resolvePath('/', p)
  return joined !== '/' && p.endsWith('/') ? `${joined}/` : joined
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
