/**
 * Per-keyword argument parsing, following BuildKit's parser/line_parsers.go
 * so that `args` match its AST dump exactly. Quotes and escapes are kept:
 * removing them is word expansion's job.
 */
import { fields, isSpace, splitBlanks, trimLeftSpace } from './text.js'

/** A problem in one logical line; the parser adds file and range. */
export class LineSyntaxError extends Error {}

export interface LineArgs {
  args: string[]
  json: boolean
}

const QUOTES = /['"]/

const none = (): LineArgs => ({ args: [], json: false })

/**
 * Words separated by unquoted whitespace; quotes and escape+char pairs are
 * kept verbatim, so a word is a slice of `rest` (minus an escape token that
 * ends the input) — slicing instead of appending keeps large files cheap.
 */
export function parseWords (rest: string, escapeToken: string): string[] {
  // Most lines have no quote and no escape token: then the words are the fields.
  if (!QUOTES.test(rest) && !rest.includes(escapeToken)) return fields(rest)
  const words: string[] = []
  const len = rest.length
  let pos = 0
  while (pos < len) {
    while (pos < len && isSpace(rest[pos]!)) pos++
    if (pos === len) break
    const start = pos
    let quote = ''
    let hasQuote = false
    for (; pos < len; pos++) {
      const ch = rest[pos]!
      if (quote === '') {
        if (isSpace(ch)) break
        if (ch === '\'' || ch === '"') { quote = ch; hasQuote = true } else if (ch === escapeToken) pos++
      } else if (ch === quote) {
        quote = ''
      } else if (ch === escapeToken && quote !== '\'') {
        pos++
      }
    }
    // An escape token as the very last character is dropped, not kept.
    const end = pos > len ? len - 1 : pos
    if (pos > len) pos = len
    if (end > start || hasQuote) words.push(rest.slice(start, end))
  }
  return words
}

/** ENV and LABEL: `k v` (legacy, one pair) or `k=v k2=v2`; args are triples key, value, separator. */
export function parseNameVal (rest: string, keyword: string, escapeToken: string): LineArgs {
  const words = parseWords(rest, escapeToken)
  if (words.length === 0) return none()
  if (!words[0]!.includes('=')) {
    const parts = splitBlanks(rest, 2)
    if (parts.length < 2) throw new LineSyntaxError(`${keyword} must have two arguments`)
    return { args: [parts[0]!, parts[1]!, ''], json: false }
  }
  const args: string[] = []
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!
    const eq = word.indexOf('=')
    if (eq < 0) throw new LineSyntaxError(`Syntax error - can't find = in ${JSON.stringify(word)}. Must be of the form: name=value`)
    args.push(word.slice(0, eq), word.slice(eq + 1), '=')
  }
  return { args, json: false }
}

/** ARG: each word kept whole (`name` or `name=value`). */
export function parseNameOrNameVal (rest: string, escapeToken: string): LineArgs {
  return { args: parseWords(rest, escapeToken), json: false }
}

export function parseStringsWhitespaceDelimited (rest: string): LineArgs {
  return rest === '' ? none() : { args: splitBlanks(rest), json: false }
}

export function parseString (rest: string): LineArgs {
  return rest === '' ? none() : { args: [rest], json: false }
}

const notStringArray = 'when using JSON array syntax, arrays must be comprised of strings only'

/** The JSON array, or undefined when `rest` is not valid JSON (callers fall back to shell form). */
export function parseJson (rest: string): LineArgs | undefined {
  const trimmed = trimLeftSpace(rest)
  if (!trimmed.startsWith('[')) return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(trimmed)
  } catch {
    return undefined
  }
  if (!Array.isArray(parsed)) return undefined
  for (const item of parsed) {
    if (typeof item !== 'string') throw new LineSyntaxError(notStringArray)
  }
  return { args: parsed as string[], json: true }
}

/** CMD, ENTRYPOINT, RUN, SHELL: exec form if valid JSON, else the whole rest as one shell-form string. */
export function parseMaybeJson (rest: string): LineArgs {
  if (rest === '') return none()
  return parseJson(rest) ?? { args: [rest], json: false }
}

/** ADD, COPY, VOLUME: exec form if valid JSON, else whitespace-separated. */
export function parseMaybeJsonToList (rest: string): LineArgs {
  return parseJson(rest) ?? parseStringsWhitespaceDelimited(rest)
}

/** HEALTHCHECK: a type word (CMD, NONE, …) and then CMD-like arguments. */
export function parseHealthConfig (rest: string): LineArgs {
  let sep = 0
  while (sep < rest.length && !isSpace(rest[sep]!)) sep++
  if (sep === 0) return none()
  let next = sep
  while (next < rest.length && isSpace(rest[next]!)) next++
  const cmd = parseMaybeJson(rest.slice(next))
  return { args: [rest.slice(0, sep), ...cmd.args], json: cmd.json }
}
