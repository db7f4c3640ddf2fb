import { Pattern, matchSegment } from './pattern.js'
import { parentOf } from './cleanPath.js'

/**
 * Per-pattern results for a directory, handed to its children so a walker
 * never re-matches every ancestor (patternmatcher's MatchInfo).
 */
export type ParentMatches = readonly boolean[]

/**
 * An ordered list of patterns where the last matching one wins and `!p`
 * re-includes what earlier patterns matched. A pattern that matches a
 * directory matches everything below it.
 */
export class PatternMatcher {
  readonly patterns: readonly Pattern[]
  readonly hasExceptions: boolean

  constructor (patterns: readonly string[]) {
    this.patterns = patterns.filter((p) => p.trim() !== '').map((p) => new Pattern(p))
    this.hasExceptions = this.patterns.some((p) => p.isException)
  }

  get isEmpty (): boolean {
    return this.patterns.length === 0
  }

  /**
   * Does `path` (root-relative, slash-separated, cleaned) match? Without
   * `parent`, ancestors are tested too; with it, the ancestors' per-pattern
   * results are reused. The root (`''` or `.`) never matches.
   */
  match (path: string, parent?: ParentMatches): { isMatch: boolean; matches: ParentMatches } {
    const matches: boolean[] = new Array<boolean>(this.patterns.length).fill(false)
    if (path === '' || path === '.') return { isMatch: false, matches }
    let isMatch = false
    const ancestors = parent === undefined ? ancestorsOf(path) : undefined
    for (let i = 0; i < this.patterns.length; i++) {
      const pattern = this.patterns[i]!
      let m = parent?.[i] ?? false
      if (!m) {
        // Last match wins: an inclusion cannot change an already-matched path, nor an exception an unmatched one.
        if (pattern.isException !== isMatch) continue
        m = pattern.matches(path) || (ancestors?.some((a) => pattern.matches(a)) ?? false)
      }
      matches[i] = m
      if (m) isMatch = !pattern.isException
    }
    return { isMatch, matches }
  }

  matches (path: string): boolean {
    return this.match(path).isMatch
  }

  /**
   * Could an exception pattern select something strictly below `dir`? When
   * not, an excluded directory need not be walked at all. Conservative: a `**`
   * anywhere in the way answers yes.
   */
  mayIncludeBelow (dir: string): boolean {
    return this.patterns.some((p) => p.isException && couldMatchBelow(p, dir))
  }

  /** Could any pattern match `dir` or something below it (for include patterns)? */
  mayMatchAtOrBelow (dir: string): boolean {
    return dir === '' || this.patterns.some((p) => !p.isException && (couldMatchBelow(p, dir) || p.matches(dir)))
  }
}

export function couldMatchBelow (pattern: Pattern, dir: string): boolean {
  if (dir === '') return true
  const parts = dir.split('/')
  const segs = pattern.segments
  for (let i = 0; i < parts.length; i++) {
    const seg = segs[i]
    // The pattern ends above `dir`: it matches an ancestor, so everything below.
    if (seg === undefined) return true
    if (seg.includes('**')) return true
    if (!matchSegment(seg, parts[i]!)) return false
  }
  return segs.length > parts.length
}

function ancestorsOf (path: string): string[] {
  const out: string[] = []
  for (let p = parentOf(path); p !== ''; p = parentOf(p)) out.push(p)
  return out.reverse()
}
