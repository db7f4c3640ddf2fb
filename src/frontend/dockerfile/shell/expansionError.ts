import { TsbuildError } from '../../../common/errors.js'

/**
 * A word that cannot be expanded: bad substitution syntax, an unterminated
 * quote, or `${V?msg}` / `${V:?msg}` with V unset (or empty). The lookups made
 * before the failure are kept so that checks can still report them.
 */
export class ExpansionError extends TsbuildError {
  readonly word: string
  /** Why it failed, without the word (the message says both). */
  readonly reason: string
  /** The variable the failing substitution names, when there is one. */
  readonly variable: string | undefined
  readonly matched: ReadonlySet<string>
  readonly unmatched: ReadonlySet<string>

  constructor (word: string, reason: string, opts: { variable?: string; matched: ReadonlySet<string>; unmatched: ReadonlySet<string> }) {
    super('EXPANSION', `failed to process ${JSON.stringify(word)}: ${reason}`)
    this.name = 'ExpansionError'
    this.word = word
    this.reason = reason
    this.variable = opts.variable
    this.matched = opts.matched
    this.unmatched = opts.unmatched
  }
}
