import { TsbuildError } from '../../common/errors.js'
import { cleanPath } from './cleanPath.js'

/**
 * One .dockerignore / include / exclude pattern with the matching rules of
 * Docker's patternmatcher: anchored at the root, `*` and `?` never cross `/`,
 * `**` crosses any number of directories (including none), `[...]` classes,
 * `\` escapes. Patterns without wildcards compare as plain strings; the
 * parent-directory rule lives in PatternMatcher, not here.
 */
type MatchKind = 'exact' | 'prefix' | 'suffix' | 'regexp'

// Characters that mean something to a regular expression but nothing to a glob.
const REGEXP_SPECIALS = new Set(['.', '+', '(', ')', '|', '{', '}', '$', '^', '/', '*', '?', '[', ']', '\\'])

export class Pattern {
  readonly text: string
  readonly isException: boolean
  /** The pattern split on `/`, used to decide whether it could match under a directory. */
  readonly segments: readonly string[]
  private readonly kind: MatchKind
  private readonly regexp: RegExp | undefined

  /** `source` is one pattern, optionally starting with `!`; it is trimmed and cleaned as Docker does. */
  constructor (source: string) {
    let p = cleanPath(source.trim())
    this.isException = p.startsWith('!')
    if (this.isException) {
      p = p.slice(1)
      if (p === '') throw new TsbuildError('USAGE', 'illegal exclusion pattern: "!"')
    }
    validateGlob(p)
    this.text = p
    this.segments = p.split('/')
    const compiled = compile(p)
    this.kind = compiled.kind
    this.regexp = compiled.regexp
  }

  /** Does the pattern match exactly this root-relative, slash-separated path? */
  matches (path: string): boolean {
    switch (this.kind) {
      case 'exact': return path === this.text
      case 'prefix': return path.startsWith(this.text.slice(0, -2))
      case 'suffix': {
        const suffix = this.text.slice(2)
        if (path.endsWith(suffix)) return true
        // `**/foo` also matches `foo` at the root.
        return suffix.startsWith('/') && path === suffix.slice(1)
      }
      case 'regexp': return this.regexp!.test(path)
    }
  }

  get hasWildcards (): boolean {
    return this.kind !== 'exact'
  }
}

function compile (p: string): { kind: MatchKind; regexp?: RegExp } {
  let re = '^'
  let kind: MatchKind = 'exact'
  let isInClass = false
  const chars = Array.from(p) // code points, so a class or `?` sees one character per symbol
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!
    if (isInClass) {
      if (ch === ']') {
        re += ']'
        isInClass = false
      } else if (ch === '\\' && i + 1 < chars.length) {
        re += escapeChar(chars[++i]!, true)
      } else {
        re += ch === '-' ? '-' : escapeChar(ch, true)
      }
      continue
    }
    if (ch === '*') {
      if (chars[i + 1] === '*') {
        const startsPattern = i === 0
        i++
        if (chars[i + 1] === '/') i++ // `**/` behaves as `**`
        if (i + 1 >= chars.length) {
          if (kind === 'exact') kind = 'prefix'
          else { re += '.*'; kind = 'regexp' }
        } else {
          re += '(.*/)?'
          kind = 'regexp'
        }
        if (startsPattern) kind = 'suffix'
      } else {
        re += '[^/]*'
        kind = 'regexp'
      }
    } else if (ch === '?') {
      re += '[^/]'
      kind = 'regexp'
    } else if (ch === '\\') {
      if (i + 1 < chars.length) { re += escapeChar(chars[++i]!); kind = 'regexp' } else re += '\\\\'
    } else if (ch === '[') {
      re += '['
      isInClass = true
      if (chars[i + 1] === '^') { re += '^'; i++ }
      kind = 'regexp'
    } else {
      re += escapeChar(ch)
    }
  }
  if (kind !== 'regexp') return { kind }
  return { kind, regexp: new RegExp(re + '$', 'u') }
}

function escapeChar (ch: string, isInClass = false): string {
  if (/^[A-Za-z0-9_]$/.test(ch)) return ch
  if (REGEXP_SPECIALS.has(ch) || (isInClass && ch === '-')) return '\\' + ch
  if (ch === '-') return ch
  return `\\u{${ch.codePointAt(0)!.toString(16)}}`
}

/** Reject what Go's filepath.Match rejects: unterminated or malformed classes, a dangling `\`. */
export function validateGlob (p: string): void {
  const chars = Array.from(p)
  const bad = (): never => { throw new TsbuildError('USAGE', `syntax error in pattern ${JSON.stringify(p)}`) }
  const classChar = (i: number): number => {
    if (i >= chars.length || chars[i] === '-' || chars[i] === ']') bad()
    if (chars[i] === '\\') { if (i + 1 >= chars.length) bad(); return i + 2 }
    return i + 1
  }
  for (let i = 0; i < chars.length;) {
    const ch = chars[i]
    if (ch === '\\') { if (i + 1 >= chars.length) bad(); i += 2; continue }
    if (ch !== '[') { i++; continue }
    i++
    if (chars[i] === '^') i++
    let ranges = 0
    for (;;) {
      if (i >= chars.length) bad()
      if (chars[i] === ']' && ranges > 0) { i++; break }
      i = classChar(i)
      if (chars[i] === '-') i = classChar(i + 1)
      ranges++
    }
  }
}

/** Match one path segment (no `/`) against one glob segment, as filepath.Match would. */
export function matchSegment (glob: string, name: string): boolean {
  let p = segmentPatterns.get(glob)
  if (p === undefined) {
    p = new Pattern(glob)
    segmentPatterns.set(glob, p)
  }
  return p.matches(name)
}
const segmentPatterns = new Map<string, Pattern>()

export function hasGlobChars (s: string): boolean {
  return /[*?[\\]/.test(s)
}
