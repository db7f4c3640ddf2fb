import { TsbuildError } from '../../../common/errors.js'
import { OverlayEnv, toEnvGetter, type EnvGetter, type EnvSource } from './env.js'
import { ExpansionError } from './expansionError.js'
import { ShellLex } from './lex.js'

/** One expanded pair of an ENV, ARG or LABEL instruction; `value` is undefined for `ARG name`. */
export interface KeyValue {
  readonly key: string
  readonly value: string | undefined
}

export interface ExpandKeyValuesOptions {
  /** The lexer carrying the Dockerfile's escape token; default `\`. */
  lex?: ShellLex
  /** Expand the keys too (BuildKit does for ENV and LABEL, not for ARG). Default true. */
  expandKeys?: boolean
  /**
   * Let each pair see the ones before it in the same instruction. ENV and
   * LABEL expand every value against the environment as it was before the
   * instruction (`ENV a=x b=$a` sees the old a); BuildKit's ARG applies its
   * pairs one by one (`ARG a=x b=$a` gives b=x). Default false.
   */
  sequential?: boolean
}

export interface ExpandKeyValuesResult {
  readonly pairs: KeyValue[]
  readonly matched: ReadonlySet<string>
  readonly unmatched: ReadonlySet<string>
}

const DEFAULT_LEX = new ShellLex()

/**
 * Expand the `key=value` words of one instruction (split at the first `=`;
 * a word without `=` is a key without value). Throws ExpansionError, carrying
 * the lookups made so far.
 */
export function expandKeyValueWords (words: readonly string[], env: EnvSource, opts: ExpandKeyValuesOptions = {}): ExpandKeyValuesResult {
  const lex = opts.lex ?? DEFAULT_LEX
  const expandKeys = opts.expandKeys ?? true
  const base = toEnvGetter(env)
  const earlier = opts.sequential === true ? new Map<string, string>() : undefined
  const lookup: EnvGetter = earlier !== undefined ? new OverlayEnv(earlier, base) : base
  const pairs: KeyValue[] = []
  let matched: Set<string> | undefined
  let unmatched: Set<string> | undefined
  const expand = (text: string): string => {
    let res
    try {
      res = lex.processWordWithMatches(text, lookup)
    } catch (err) {
      if (err instanceof ExpansionError) {
        throw new ExpansionError(err.word, err.reason, {
          ...(err.variable !== undefined ? { variable: err.variable } : {}),
          matched: union(matched, err.matched),
          unmatched: union(unmatched, err.unmatched),
        })
      }
      throw err
    }
    if (res.matched.size > 0) matched = union(matched, res.matched)
    if (res.unmatched.size > 0) unmatched = union(unmatched, res.unmatched)
    return res.result
  }
  for (const word of words) {
    const eq = word.indexOf('=')
    const rawKey = eq < 0 ? word : word.slice(0, eq)
    const key = expandKeys ? expand(rawKey) : rawKey
    if (key === '') throw new TsbuildError('EXPANSION', `${JSON.stringify(word)}: the name is empty after expansion`)
    const value = eq < 0 ? undefined : expand(word.slice(eq + 1))
    pairs.push({ key, value })
    if (earlier !== undefined && value !== undefined) earlier.set(key, value)
  }
  return { pairs, matched: matched ?? new Set(), unmatched: unmatched ?? new Set() }
}

/**
 * The environment after an instruction: a new Map where a redefined key keeps
 * its place and new keys go last (the order the image config's Env keeps).
 * Pairs without a value are skipped.
 */
export function applyKeyValues (env: ReadonlyMap<string, string>, pairs: readonly KeyValue[]): Map<string, string> {
  const next = new Map(env)
  for (const { key, value } of pairs) {
    if (value !== undefined) next.set(key, value)
  }
  return next
}

function union (into: Set<string> | undefined, from: ReadonlySet<string>): Set<string> {
  const out = into ?? new Set<string>()
  for (const name of from) out.add(name)
  return out
}
