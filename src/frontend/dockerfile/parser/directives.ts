/**
 * Parser directives (`# syntax=…`, `# escape=…`, `# check=…`): recognised
 * only in the run of comment lines at the very top of the file. The first
 * line that is not a well-formed directive (an instruction, a blank line,
 * an ordinary comment, an unknown directive name) ends the search.
 */
import { LineSyntaxError } from './lineParsers.js'

const knownDirectives = new Set(['syntax', 'escape', 'check'])

const isRegexpSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\f' || c === '\r'
const isAlpha = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
const isDigit = (c: number): boolean => c >= 48 && c <= 57

/** `key = value` after the `#`; undefined when the line is not directive-shaped. */
export function matchDirective (afterHash: string): { name: string; value: string } | undefined {
  let i = 0
  while (isRegexpSpace(afterHash[i])) i++
  const keyStart = i
  if (i >= afterHash.length || !isAlpha(afterHash.charCodeAt(i))) return undefined
  while (i < afterHash.length && (isAlpha(afterHash.charCodeAt(i)) || isDigit(afterHash.charCodeAt(i)))) i++
  const name = afterHash.slice(keyStart, i)
  while (isRegexpSpace(afterHash[i])) i++
  if (afterHash[i] !== '=') return undefined
  i++
  while (isRegexpSpace(afterHash[i])) i++
  let end = afterHash.length
  while (end > i && isRegexpSpace(afterHash[end - 1])) end--
  if (end <= i) return undefined
  return { name: name.toLowerCase(), value: afterHash.slice(i, end) }
}

/** Tracks whether directives may still appear, and rejects repeats. */
export class DirectiveScanner {
  private isDone = false
  private readonly seen = new Set<string>()

  /** Feed a line with its newline and leading whitespace removed. */
  scan (line: string): { name: string; value: string } | undefined {
    if (this.isDone) return undefined
    if (!line.startsWith('#')) { this.isDone = true; return undefined }
    const match = matchDirective(line.slice(1))
    if (match === undefined || !knownDirectives.has(match.name)) { this.isDone = true; return undefined }
    if (this.seen.has(match.name)) throw new LineSyntaxError(`only one ${match.name} parser directive can be used`)
    this.seen.add(match.name)
    return match
  }
}
