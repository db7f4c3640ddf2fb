import { toEnvGetter, type EnvSource } from './env.js'
import { Expansion } from './expansion.js'
import { splitFields, WordSplitter } from './wordSplitter.js'

export { ExpansionError } from './expansionError.js'

/** `\` by default; a Dockerfile's `# escape=`` directive switches it to a backtick. */
export type EscapeToken = '\\' | '`'

export interface ShellLexOptions {
  escapeToken?: EscapeToken
  /** Keep quote characters in the output (the parser uses this to spot quoted heredoc names). */
  rawQuotes?: boolean
  /** Keep escape tokens in the output. */
  rawEscapes?: boolean
  /** Treat quotes as ordinary characters (BuildKit does so for a few raw-expanded flags). */
  skipProcessQuotes?: boolean
  /** Leave references to unset variables as written, e.g. `$X` or `${X:-d}`, instead of expanding them. */
  skipUnsetEnv?: boolean
}

/** What one word expanded to, and which variables it looked up. */
export interface ProcessWordResult {
  readonly result: string
  /** Variables the word referenced that were set (possibly to ''). */
  readonly matched: ReadonlySet<string>
  /** Variables the word referenced that were unset — what the UndefinedVar check reports. */
  readonly unmatched: ReadonlySet<string>
}

export interface ProcessWordsResult {
  readonly words: string[]
  readonly matched: ReadonlySet<string>
  readonly unmatched: ReadonlySet<string>
}

const EMPTY: ReadonlySet<string> = new Set()

/**
 * BuildKit's word lexer: quote removal, escapes and `$` expansion following
 * the subset of POSIX sh that Dockerfiles support. A ShellLex holds only
 * options, so one instance can be shared freely.
 */
export class ShellLex {
  readonly escapeToken: EscapeToken
  readonly rawQuotes: boolean
  readonly rawEscapes: boolean
  readonly skipProcessQuotes: boolean
  readonly skipUnsetEnv: boolean
  /** Characters that need more than copying; a word without any is returned as is. */
  private readonly special: RegExp

  constructor (opts: ShellLexOptions = {}) {
    this.escapeToken = opts.escapeToken ?? '\\'
    this.rawQuotes = opts.rawQuotes ?? false
    this.rawEscapes = opts.rawEscapes ?? false
    this.skipProcessQuotes = opts.skipProcessQuotes ?? false
    this.skipUnsetEnv = opts.skipUnsetEnv ?? false
    const quotes = this.skipProcessQuotes ? '' : `'"`
    this.special = new RegExp(`[$${quotes}${this.escapeToken === '\\' ? '\\\\' : '`'}]`)
  }

  /**
   * Where the next character at or after `from` is that the scanner must
   * look at (`$`, `<`, quotes, the escape token, or `stop`, a character
   * code or -1 for none); -1 when there is none.
   */
  specialAfter (src: string, from: number, stop: number): number {
    const re = stop === -1 ? (this.scanAny ??= this.scanPattern('')) : stop === 125 ? (this.scanBrace ??= this.scanPattern('}')) : stop === 47 ? (this.scanSlash ??= this.scanPattern('/')) : this.scanPattern(String.fromCharCode(stop))
    re.lastIndex = from
    return re.test(src) ? re.lastIndex - 1 : -1
  }

  /** Like {@link specialAfter} inside double quotes: `"`, `$` and the escape token. */
  specialInDoubleQuotesAfter (src: string, from: number): number {
    const re = this.scanQuoted ??= new RegExp(`["$${this.escapeToken === '\\' ? '\\\\' : '`'}]`, 'g')
    re.lastIndex = from
    return re.test(src) ? re.lastIndex - 1 : -1
  }

  private scanAny: RegExp | undefined
  private scanBrace: RegExp | undefined
  private scanSlash: RegExp | undefined
  private scanQuoted: RegExp | undefined

  private scanPattern (stop: string): RegExp {
    const quotes = this.skipProcessQuotes ? '' : `'"`
    const esc = this.escapeToken === '\\' ? '\\\\' : '`'
    const extra = stop === '' ? '' : stop === '/' ? '\\/' : stop === '}' ? '}' : stop.replace(/[\\\]^-]/g, '\\$&')
    return new RegExp(`[$<${quotes}${esc}${extra}]`, 'g')
  }

  /** A copy with some options changed. */
  with (opts: ShellLexOptions): ShellLex {
    return new ShellLex({
      escapeToken: this.escapeToken,
      rawQuotes: this.rawQuotes,
      rawEscapes: this.rawEscapes,
      skipProcessQuotes: this.skipProcessQuotes,
      skipUnsetEnv: this.skipUnsetEnv,
      ...opts,
    })
  }

  /** Expand one word (quotes removed, spaces kept). Throws ExpansionError. */
  processWord (word: string, env: EnvSource): string {
    if (!this.special.test(word)) return word
    return this.processWordWithMatches(word, env).result
  }

  /** Expand one word and report which variables it referenced. Throws ExpansionError. */
  processWordWithMatches (word: string, env: EnvSource): ProcessWordResult {
    if (!this.special.test(word)) return { result: word, matched: EMPTY, unmatched: EMPTY }
    const run = new Expansion(this, word, toEnvGetter(env))
    const result = run.top(null)
    return { result, matched: run.matched ?? EMPTY, unmatched: run.unmatched ?? EMPTY }
  }

  /**
   * Expand, then split into words at unquoted whitespace — including
   * whitespace that came from a variable's value, as in sh. Used for EXPOSE
   * and for finding heredoc markers. Throws ExpansionError.
   */
  processWords (word: string, env: EnvSource): string[] {
    return this.processWordsWithMatches(word, env).words
  }

  processWordsWithMatches (word: string, env: EnvSource): ProcessWordsResult {
    // Nothing to expand, unquote or keep together (`<<`): the words are the fields.
    if (!this.special.test(word) && !word.includes('<')) return { words: splitFields(word), matched: EMPTY, unmatched: EMPTY }
    const run = new Expansion(this, word, toEnvGetter(env))
    const splitter = new WordSplitter()
    run.top(splitter)
    return { words: splitter.finish(), matched: run.matched ?? EMPTY, unmatched: run.unmatched ?? EMPTY }
  }
}
