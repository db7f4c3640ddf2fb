/**
 * Shell glob patterns as used by ${V#p} ${V%p} ${V/p/r}: `*`, `?`, bracket
 * expressions (`[abc]`, `[!a-z]`, `[^0-9]`, `[[:alpha:]]`) and the escape token.
 * Matching works on code points and never builds a regular expression, so
 * every character of a value is literal unless the pattern says otherwise.
 *
 * BuildKit treats `[` and `]` literally; tsbuild follows POSIX instead, except
 * that a `[` without a closing `]` stays a literal `[` (as in sh), so patterns
 * such as `[]` or `a[` behave as they do in BuildKit.
 */

const enum Kind { Literal, AnyChar, Star, Bracket }

type Token =
  | { readonly kind: Kind.Literal; readonly cp: number }
  | { readonly kind: Kind.AnyChar }
  | { readonly kind: Kind.Star }
  | { readonly kind: Kind.Bracket; readonly negated: boolean; readonly ranges: readonly number[]; readonly classes: readonly CharClass[] }

type CharClass = (cp: number) => boolean

/** A pattern that cannot be compiled; the lexer turns it into an EXPANSION error. */
export class PatternSyntaxError extends Error {}

const ANY: Token = { kind: Kind.AnyChar }
const STAR: Token = { kind: Kind.Star }

const CLASSES: Readonly<Record<string, CharClass>> = {
  alpha: cp => /\p{L}/u.test(String.fromCodePoint(cp)),
  digit: cp => cp >= 48 && cp <= 57,
  alnum: cp => (cp >= 48 && cp <= 57) || /\p{L}/u.test(String.fromCodePoint(cp)),
  upper: cp => /\p{Lu}/u.test(String.fromCodePoint(cp)),
  lower: cp => /\p{Ll}/u.test(String.fromCodePoint(cp)),
  space: cp => cp === 32 || (cp >= 9 && cp <= 13),
  blank: cp => cp === 32 || cp === 9,
  xdigit: cp => (cp >= 48 && cp <= 57) || (cp >= 65 && cp <= 70) || (cp >= 97 && cp <= 102),
  punct: cp => (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126),
  cntrl: cp => cp < 32 || cp === 127,
}

// Characters an escape may precede: the glob metacharacters, the escape itself,
// and `}` / `/`, which must be escaped to appear inside ${...} at all.
const ESCAPABLE = new Set(['*', '?', '[', ']', '}', '/'])

export class ShellPattern {
  private reversed: readonly Token[] | undefined

  private constructor (private readonly tokens: readonly Token[]) {}

  static compile (source: string, escapeToken: string): ShellPattern {
    const cps = Array.from(source)
    const tokens: Token[] = []
    for (let i = 0; i < cps.length; i++) {
      const ch = cps[i] as string
      if (ch === '*') {
        if (tokens[tokens.length - 1] !== STAR) tokens.push(STAR)
      } else if (ch === '?') {
        tokens.push(ANY)
      } else if (ch === escapeToken) {
        const next = cps[i + 1]
        if (next === undefined) throw new PatternSyntaxError(`trailing escape ${JSON.stringify(escapeToken)}`)
        if (!ESCAPABLE.has(next) && next !== escapeToken) throw new PatternSyntaxError(`invalid escape ${JSON.stringify(escapeToken + next)}`)
        tokens.push(literal(next))
        i++
      } else if (ch === '[') {
        const parsed = parseBracket(cps, i + 1, escapeToken)
        if (parsed === undefined) {
          tokens.push(literal('['))
        } else {
          tokens.push(parsed.token)
          i = parsed.end
        }
      } else {
        tokens.push(literal(ch))
      }
    }
    return new ShellPattern(tokens)
  }

  /** `value` without its shortest (or longest) prefix matching the pattern; unchanged if none matches. */
  trimPrefix (value: string, longest: boolean): string {
    const cps = Array.from(value)
    const len = matchLength(this.tokens, cps, 0, 1, longest)
    return len <= 0 ? value : cps.slice(len).join('')
  }

  /** `value` without its shortest (or longest) suffix matching the pattern; unchanged if none matches. */
  trimSuffix (value: string, longest: boolean): string {
    const cps = Array.from(value)
    this.reversed ??= [...this.tokens].reverse()
    const len = matchLength(this.reversed, cps, cps.length - 1, -1, longest)
    return len <= 0 ? value : cps.slice(0, cps.length - len).join('')
  }

  /**
   * Replace the leftmost-longest match (or every non-overlapping one). As in
   * BuildKit, an empty pattern matches the empty string, and an empty match
   * right after a previous match is skipped.
   */
  replace (value: string, replacement: string, all: boolean): string {
    const cps = Array.from(value)
    const n = cps.length
    let out = ''
    let copied = 0
    let lastEnd = -1
    for (let pos = 0; pos <= n;) {
      const found = findLeftmostLongest(this.tokens, cps, pos, lastEnd)
      if (found === undefined) break
      const [start, end] = found
      out += cps.slice(copied, start).join('') + replacement
      copied = lastEnd = end
      if (!all) break
      if (end > start) {
        pos = end
      } else {
        // An empty match consumes nothing: step over one character so the scan ends.
        if (start < n) out += cps[start] as string
        pos = copied = start + 1
      }
    }
    return lastEnd < 0 ? value : out + cps.slice(copied).join('')
  }
}

function literal (ch: string): Token {
  return { kind: Kind.Literal, cp: ch.codePointAt(0) as number }
}

/**
 * Parse `[...]` starting just after the `[`. Returns undefined when there is no
 * closing `]`, so the caller treats the `[` literally.
 */
function parseBracket (cps: readonly string[], start: number, esc: string): { token: Token; end: number } | undefined {
  let i = start
  let negated = false
  if (cps[i] === '!' || cps[i] === '^') {
    negated = true
    i++
  }
  const ranges: number[] = []
  const classes: CharClass[] = []
  for (let first = true; ; first = false) {
    let ch = cps[i]
    if (ch === undefined) return undefined
    if (ch === ']' && !first) return { token: { kind: Kind.Bracket, negated, ranges, classes }, end: i }
    if (ch === '[' && cps[i + 1] === ':') {
      const close = findClassEnd(cps, i + 2)
      const cls = close < 0 ? undefined : CLASSES[cps.slice(i + 2, close).join('')]
      if (cls !== undefined) {
        classes.push(cls)
        i = close + 2
        continue
      }
    }
    if (ch === esc) {
      ch = cps[++i]
      if (ch === undefined) return undefined
    }
    const lo = ch.codePointAt(0) as number
    let hi = lo
    i++
    if (cps[i] === '-' && cps[i + 1] !== undefined && cps[i + 1] !== ']') {
      let end = cps[i + 1] as string
      i += 2
      if (end === esc) {
        const escaped = cps[i++]
        if (escaped === undefined) return undefined
        end = escaped
      }
      hi = end.codePointAt(0) as number
    }
    ranges.push(lo, hi)
  }
}

function findClassEnd (cps: readonly string[], from: number): number {
  for (let i = from; i + 1 < cps.length; i++) {
    if (cps[i] === ':' && cps[i + 1] === ']') return i
    if (!/[a-z]/.test(cps[i] as string)) return -1
  }
  return -1
}

function matchesOne (token: Token, ch: string): boolean {
  switch (token.kind) {
    case Kind.AnyChar: return true
    case Kind.Literal: return ch.codePointAt(0) === token.cp
    case Kind.Bracket: {
      const cp = ch.codePointAt(0) as number
      let hit = false
      for (let r = 0; r < token.ranges.length && !hit; r += 2) hit = cp >= (token.ranges[r] as number) && cp <= (token.ranges[r + 1] as number)
      for (let c = 0; c < token.classes.length && !hit; c++) hit = (token.classes[c] as CharClass)(cp)
      return hit !== token.negated
    }
    case Kind.Star: return false
  }
}

/**
 * Length of the shortest or longest run of `cps` that the tokens match, read
 * from `start` in direction `step` (+1 forward, -1 backward with reversed
 * tokens); -1 when nothing matches. Simulates the pattern as an NFA whose
 * states are token positions: O(length × tokens), no backtracking.
 */
function matchLength (tokens: readonly Token[], cps: readonly string[], start: number, step: 1 | -1, longest: boolean): number {
  const m = tokens.length
  let cur = new Uint8Array(m + 1)
  let next = new Uint8Array(m + 1)
  cur[0] = 1
  closeOverStars(tokens, cur)
  let best = cur[m] === 1 ? 0 : -1
  if (best === 0 && !longest) return 0
  for (let i = start, len = 1; i >= 0 && i < cps.length; i += step, len++) {
    const ch = cps[i] as string
    next.fill(0)
    let alive = false
    for (let s = 0; s < m; s++) {
      if (cur[s] !== 1) continue
      const token = tokens[s] as Token
      if (token.kind === Kind.Star) {
        next[s] = 1
        alive = true
      } else if (matchesOne(token, ch)) {
        next[s + 1] = 1
        alive = true
      }
    }
    if (!alive) break
    closeOverStars(tokens, next)
    if (next[m] === 1) {
      best = len
      if (!longest) return best
    }
    const t = cur
    cur = next
    next = t
  }
  return best
}

function closeOverStars (tokens: readonly Token[], states: Uint8Array): void {
  for (let s = 0; s < tokens.length; s++) {
    if (states[s] === 1 && (tokens[s] as Token).kind === Kind.Star) states[s + 1] = 1
  }
}

/**
 * The leftmost, then longest, match starting at or after `from`, as
 * [start, end); an empty match at `skipEmptyAt` does not count. One pass over
 * the value: each NFA state keeps only the earliest start that reaches it,
 * since later starts in the same state can only tie or lose.
 */
function findLeftmostLongest (tokens: readonly Token[], cps: readonly string[], from: number, skipEmptyAt: number): [number, number] | undefined {
  const m = tokens.length
  const n = cps.length
  let cur = new Int32Array(m + 1).fill(-1)
  let next = new Int32Array(m + 1)
  let bestStart = -1
  let bestEnd = -1
  for (let i = from; ; i++) {
    if (bestStart < 0) cur[0] = earlier(cur[0] as number, i)
    for (let s = 0; s < m; s++) {
      if ((cur[s] as number) >= 0 && (tokens[s] as Token).kind === Kind.Star) cur[s + 1] = earlier(cur[s + 1] as number, cur[s] as number)
    }
    const accepted = cur[m] as number
    if (accepted >= 0 && !(accepted === i && i === skipEmptyAt)) {
      if (bestStart < 0 || accepted < bestStart || (accepted === bestStart && i > bestEnd)) {
        bestStart = accepted
        bestEnd = i
      }
    }
    if (i >= n) break
    next.fill(-1)
    let alive = false
    const ch = cps[i] as string
    for (let s = 0; s < m; s++) {
      const started = cur[s] as number
      if (started < 0 || (bestStart >= 0 && started > bestStart)) continue
      const token = tokens[s] as Token
      if (token.kind === Kind.Star) {
        next[s] = earlier(next[s] as number, started)
        alive = true
      } else if (matchesOne(token, ch)) {
        next[s + 1] = earlier(next[s + 1] as number, started)
        alive = true
      }
    }
    if (!alive && bestStart >= 0) break
    const t = cur
    cur = next
    next = t
  }
  return bestStart < 0 ? undefined : [bestStart, bestEnd]
}

/** The earlier of two start positions, where -1 means none. */
function earlier (a: number, b: number): number {
  return a < 0 ? b : b < 0 ? a : Math.min(a, b)
}
