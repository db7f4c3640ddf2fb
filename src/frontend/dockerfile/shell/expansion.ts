import type { EnvGetter } from './env.js'
import { ExpansionError } from './expansionError.js'
import type { ShellLex } from './lex.js'
import { PatternSyntaxError, ShellPattern } from './pattern.js'
import type { WordSplitter } from './wordSplitter.js'

const EMPTY: ReadonlySet<string> = new Set()

/** Internal: unwinds the recursive descent; becomes an ExpansionError at the top. */
class Fault {
  constructor (readonly reason: string, readonly variable?: string) {}
}

const EOF = -1
const DOLLAR = 36
const SINGLE_QUOTE = 39
const DOUBLE_QUOTE = 34
const LESS_THAN = 60
const OPEN_BRACE = 123
const CLOSE_BRACE = 125
const SLASH = 47
const COLON = 58

/** The state of expanding one word: a cursor over the source and the lookups made. */
export class Expansion {
  private pos = 0
  private rawEscapes: boolean
  private readonly esc: number
  matched: Set<string> | undefined
  unmatched: Set<string> | undefined

  constructor (private readonly lex: ShellLex, private readonly src: string, private readonly env: EnvGetter) {
    this.rawEscapes = lex.rawEscapes
    this.esc = lex.escapeToken.charCodeAt(0)
  }

  top (words: WordSplitter | null): string {
    try {
      return this.processStopOn(EOF, this.rawEscapes, words)
    } catch (err) {
      if (!(err instanceof Fault)) throw err
      throw new ExpansionError(this.src, err.reason, {
        ...(err.variable !== undefined ? { variable: err.variable } : {}),
        matched: this.matched ?? EMPTY,
        unmatched: this.unmatched ?? EMPTY,
      })
    }
  }

  private peek (): number {
    return this.pos < this.src.length ? this.src.charCodeAt(this.pos) : EOF
  }

  /** Take one whole character (a surrogate pair counts as one). */
  private nextChar (): string {
    const cp = this.src.codePointAt(this.pos) as number
    const ch = cp > 0xffff ? this.src.slice(this.pos, this.pos + 2) : this.src[this.pos] as string
    this.pos += ch.length
    return ch
  }

  /**
   * Process up to `stop` (consumed) or the end of the source. `words`, when
   * given, receives the same text marked as splittable or not.
   */
  private processStopOn (stop: number, rawEscapes: boolean, words: WordSplitter | null): string {
    const saved = this.rawEscapes
    this.rawEscapes = rawEscapes
    try {
      return this.scan(stop, words)
    } finally {
      this.rawEscapes = saved
    }
  }

  private scan (stop: number, words: WordSplitter | null): string {
    const src = this.src
    const n = src.length
    const quotes = !this.lex.skipProcessQuotes
    let out = ''
    let run = this.pos // start of the current stretch of ordinary characters
    const flush = (): void => {
      if (run < this.pos) {
        const plain = src.slice(run, this.pos)
        out += plain
        words?.addSplittable(plain)
      }
    }
    while (this.pos < n) {
      const c = src.charCodeAt(this.pos)
      if (c === stop) {
        flush()
        this.pos++
        return out
      }
      if (c === DOLLAR) {
        flush()
        const value = this.processDollar()
        out += value
        words?.addSplittable(value)
      } else if (c === LESS_THAN) {
        flush()
        const marker = this.processPossibleHeredoc()
        out += marker
        words?.addLiteral(marker)
      } else if (quotes && (c === SINGLE_QUOTE || c === DOUBLE_QUOTE)) {
        flush()
        const quoted = c === SINGLE_QUOTE ? this.processSingleQuote() : this.processDoubleQuote()
        out += quoted
        words?.addLiteral(quoted)
      } else if (c === this.esc) {
        flush()
        this.pos++
        if (this.rawEscapes) {
          out += this.lex.escapeToken
          words?.addLiteral(this.lex.escapeToken)
        }
        // An escape at the very end escapes nothing and is dropped.
        if (this.pos >= n) {
          run = n
          break
        }
        const ch = this.nextChar()
        out += ch
        words?.addLiteral(ch)
      } else {
        // An ordinary character: jump to the next one that needs attention
        // (a native search instead of a loop over every character).
        const next = this.lex.specialAfter(src, this.pos + 1, stop)
        this.pos = next < 0 ? n : next
        continue
      }
      run = this.pos
    }
    flush()
    if (stop !== EOF) throw new Fault(`unexpected end of statement while looking for matching ${String.fromCharCode(stop)}`)
    return out
  }

  private processSingleQuote (): string {
    const open = this.pos
    const close = this.src.indexOf("'", open + 1)
    if (close < 0) throw new Fault('unexpected end of statement while looking for matching single-quote')
    this.pos = close + 1
    return this.lex.rawQuotes ? this.src.slice(open, close + 1) : this.src.slice(open + 1, close)
  }

  /** Inside "...": `$` expands, and the escape token escapes only `"`, `$` and itself. */
  private processDoubleQuote (): string {
    const src = this.src
    const n = src.length
    let out = this.lex.rawQuotes ? '"' : ''
    this.pos++
    let run = this.pos
    while (true) {
      if (this.pos >= n) throw new Fault('unexpected end of statement while looking for matching double-quote')
      const c = src.charCodeAt(this.pos)
      if (c === DOUBLE_QUOTE) {
        out += src.slice(run, this.pos)
        this.pos++
        return this.lex.rawQuotes ? out + '"' : out
      }
      if (c === DOLLAR) {
        out += src.slice(run, this.pos)
        out += this.processDollar()
        run = this.pos
      } else if (c === this.esc) {
        out += src.slice(run, this.pos)
        this.pos++
        const next = this.peek()
        if (next === DOUBLE_QUOTE || next === DOLLAR || next === this.esc) {
          if (this.rawEscapes) out += this.lex.escapeToken
          out += src[this.pos]
          this.pos++
        } else if (next !== EOF) {
          // Not an escape here, so the token is kept literally — once, even in raw
          // mode, where BuildKit writes it twice; raw output should be the source.
          out += this.lex.escapeToken
        }
        run = this.pos
      } else {
        const next = this.lex.specialInDoubleQuotesAfter(src, this.pos + 1)
        this.pos = next < 0 ? n : next
      }
    }
  }

  private processDollar (): string {
    this.pos++ // the $
    if (this.peek() !== OPEN_BRACE) {
      const name = this.processName()
      if (name === '') return '$'
      const value = this.getEnv(name)
      if (value === undefined) return this.lex.skipUnsetEnv ? '$' + name : ''
      return value
    }
    this.pos++ // the {
    const first = this.peek()
    if (first === EOF) throw new Fault("syntax error: missing '}'")
    if (first === OPEN_BRACE || first === CLOSE_BRACE || first === COLON) throw new Fault('syntax error: bad substitution')
    const name = this.processName()
    if (this.pos >= this.src.length) throw new Fault("syntax error: missing '}'", name)
    let modifier = this.nextChar()
    if (modifier === '}') {
      const value = this.getEnv(name)
      if (value === undefined) return this.lex.skipUnsetEnv ? `\${${name}}` : ''
      return value
    }
    if (modifier === '/') return this.processReplace(name)

    let op = modifier
    const nullIsUnset = modifier === ':'
    if (nullIsUnset) {
      if (this.pos >= this.src.length) throw new Fault("syntax error: missing '}'", name)
      op = this.nextChar()
      modifier += op
    }
    if (op !== '-' && op !== '+' && op !== '?' && op !== '#' && op !== '%' && !nullIsUnset) {
      throw new Fault(`unsupported modifier (${modifier}) in substitution of ${name === '' ? 'a variable' : name}`, name)
    }
    const isPattern = op === '#' || op === '%'
    if (nullIsUnset && isPattern) throw new Fault(`unsupported modifier (${modifier}) in substitution of ${name}`, name)
    const word = this.processUntilBrace(isPattern, name)

    const value = this.getEnv(name)
    if (value === undefined && this.lex.skipUnsetEnv) return `\${${name}${modifier}${word}}`
    const isEmpty = value === undefined || (nullIsUnset && value === '')
    switch (op) {
      case '-':
        return isEmpty ? word : value as string
      case '+':
        return isEmpty ? '' : word
      case '?':
        if (value === undefined) throw new Fault(`${name}: ${word !== '' ? word : 'is not allowed to be unset'}`, name)
        if (isEmpty) throw new Fault(`${name}: ${word !== '' ? word : 'is not allowed to be empty'}`, name)
        return value
      case '#':
      case '%': {
        // A doubled operator (## or %%) removes the longest match instead of the shortest.
        const longest = word.startsWith(op)
        const pattern = this.compilePattern(longest ? word.slice(1) : word, name)
        const subject = value ?? ''
        return op === '#' ? pattern.trimPrefix(subject, longest) : pattern.trimSuffix(subject, longest)
      }
      default:
        throw new Fault(`unsupported modifier (${modifier}) in substitution of ${name}`, name)
    }
  }

  /** ${name/pattern/replacement} and ${name//pattern/replacement}; the leading `/` is consumed. */
  private processReplace (name: string): string {
    const all = this.peek() === SLASH
    if (all) this.pos++
    let pattern: string
    try {
      pattern = this.processStopOn(SLASH, true, null)
    } catch (err) {
      if (err instanceof Fault && this.peek() === EOF) throw new Fault("syntax error: missing '/' in ${}", name)
      throw err
    }
    const replacement = this.processUntilBrace(true, name)
    const value = this.getEnv(name)
    if (value === undefined && this.lex.skipUnsetEnv) return `\${${name}${all ? '//' : '/'}${pattern}/${replacement}}`
    return this.compilePattern(pattern, name).replace(value ?? '', replacement, all)
  }

  private processUntilBrace (rawEscapes: boolean, name: string): string {
    try {
      return this.processStopOn(CLOSE_BRACE, rawEscapes, null)
    } catch (err) {
      // Whatever went wrong inside, running out of input means the brace is missing.
      if (err instanceof Fault && this.peek() === EOF) throw new Fault("syntax error: missing '}'", err.variable ?? name)
      throw err
    }
  }

  private compilePattern (source: string, name: string): ShellPattern {
    try {
      return ShellPattern.compile(source, this.lex.escapeToken)
    } catch (err) {
      if (err instanceof PatternSyntaxError) throw new Fault(`invalid pattern (${source}) in substitution of ${name}: ${err.message}`, name)
      throw err
    }
  }

  /**
   * A name: letters, digits and `_`; or a run of digits (positional
   * parameters); or one special parameter character. Empty if none.
   */
  private processName (): string {
    const src = this.src
    const start = this.pos
    if (start >= src.length) return ''
    const first = src.codePointAt(start) as number
    if (isDigit(first)) {
      while (this.pos < src.length && isDigit(src.codePointAt(this.pos) as number)) this.pos += charLength(src.codePointAt(this.pos) as number)
      return src.slice(start, this.pos)
    }
    if (isSpecialParam(first)) {
      this.pos++
      return src[start] as string
    }
    while (this.pos < src.length) {
      const cp = src.codePointAt(this.pos) as number
      if (!(cp === 95 || isLetter(cp) || isDigit(cp))) break
      this.pos += charLength(cp)
    }
    return src.slice(start, this.pos)
  }

  /** `<<` plus the whitespace after it stay one unsplittable piece, so `<< EOF` keeps its marker. */
  private processPossibleHeredoc (): string {
    this.pos++
    if (this.peek() !== LESS_THAN) return '<'
    const start = this.pos - 1
    this.pos++
    for (let c = this.peek(); c === 32 || c === 9 || c === 13; c = this.peek()) this.pos++
    return this.src.slice(start, this.pos)
  }

  private getEnv (name: string): string | undefined {
    const value = this.env.get(name)
    if (value !== undefined) (this.matched ??= new Set()).add(name)
    else (this.unmatched ??= new Set()).add(name)
    return value
  }
}

function charLength (cp: number): number {
  return cp > 0xffff ? 2 : 1
}

function isDigit (cp: number): boolean {
  if (cp < 128) return cp >= 48 && cp <= 57
  return /\p{Nd}/u.test(String.fromCodePoint(cp))
}

function isLetter (cp: number): boolean {
  if (cp < 128) return (cp >= 65 && cp <= 90) || (cp >= 97 && cp <= 122)
  return /\p{L}/u.test(String.fromCodePoint(cp))
}

/** POSIX special parameters; Dockerfiles never set them, so they expand to ''. */
function isSpecialParam (cp: number): boolean {
  switch (cp) {
    case 64: case 42: case 35: case 63: case 45: case 36: case 33: case 48: // @ * # ? - $ ! 0
      return true
  }
  return false
}
