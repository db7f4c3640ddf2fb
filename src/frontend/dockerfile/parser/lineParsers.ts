/**
 * Per-keyword argument parsing, following BuildKit's parser/line_parsers.go
 * so that `args` match its AST dump exactly. Quotes and escapes are kept:
 * removing them is word expansion's job.
 */
import { isSpace, splitBlanks, trimLeftSpace } from './text.js'

/** A problem in one logical line; the parser adds file and range. */
export class LineSyntaxError extends Error {}

export interface LineArgs {
  args: string[]
  json: boolean
}

const none = (): LineArgs => ({ args: [], json: false })

/** Words separated by unquoted whitespace; quotes and escape+char pairs are kept verbatim. */
export function parseWords (rest: string, escapeToken: string): string[] {
  const words: string[] = []
  let word = ''
  let inWord = false
  let quote = ''
  let blankOk = false
  for (let pos = 0; pos < rest.length; pos++) {
    let ch = rest[pos]!
    if (!inWord) {
      if (isSpace(ch)) continue
      inWord = true
    }
    if (quote === '') {
      if (isSpace(ch)) {
        if (blankOk || word.length > 0) words.push(word)
        word = ''
        blankOk = false
        inWord = false
        continue
      }
      if (ch === '\'' || ch === '"') {
        quote = ch
        blankOk = true
      } else if (ch === escapeToken) {
        if (pos + 1 === rest.length) continue
        word += ch
        ch = rest[++pos]!
      }
      word += ch
      continue
    }
    const closing = ch === quote
    if (ch === escapeToken && quote !== '\'') {
      if (pos + 1 === rest.length) { quote = ''; continue }
      word += ch
      ch = rest[++pos]!
    }
    if (closing) quote = ''
    word += ch
  }
  if (inWord && (blankOk || word.length > 0)) words.push(word)
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
  for (const word of words) {
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
