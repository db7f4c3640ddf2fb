import { isSpace, isSpaceCode, SPACE_CLASS, splitBlanks, trimSpace } from './text.js'

export interface SplitCommand {
  keyword: string
  flags: string[]
  rest: string
}

/** Keyword, leading `--flags` (quotes and escapes removed, `--` ends them) and the remaining text. */
export function splitCommand (line: string, escapeToken: string): SplitCommand {
  const parts = splitBlanks(trimSpace(line), 2)
  if (parts.length < 2) return { keyword: parts[0]!, flags: [], rest: '' }
  const { rest, flags } = extractBuilderFlags(parts[1]!, escapeToken)
  return { keyword: parts[0]!, flags, rest: trimSpace(rest) }
}

/** `--` and the characters up to a space, quote or escape token. */
const SIMPLE_FLAG = new RegExp(`--[^${SPACE_CLASS}'"\\\\]*`, 'y')
const SIMPLE_FLAG_BACKTICK = new RegExp(`--[^${SPACE_CLASS}'"\`]*`, 'y')

/**
 * Flags are copied by slices between the characters that are dropped
 * (quotes, escape tokens) rather than one character at a time.
 */
function extractBuilderFlags (line: string, escapeToken: string): { rest: string; flags: string[] } {
  const flags: string[] = []
  const len = line.length
  let pos = 0
  for (;;) {
    while (pos < len && isSpace(line[pos]!)) pos++
    if (pos === len) return { rest: '', flags }
    if (line[pos] !== '-' || line[pos + 1] !== '-') return { rest: line.slice(pos), flags }
    // A flag without quotes or escapes (nearly all of them) is taken whole.
    const simple = escapeToken === '`' ? SIMPLE_FLAG_BACKTICK : SIMPLE_FLAG
    simple.lastIndex = pos
    simple.test(line)
    const end = simple.lastIndex
    if (end === len || isSpaceCode(line.charCodeAt(end))) {
      const word = line.slice(pos, end)
      pos = end
      if (word === '--') return { rest: pos >= len ? '' : line.slice(pos), flags }
      flags.push(word)
      continue
    }
    let word = ''
    let segment = pos
    let quote = ''
    let hasQuote = false
    for (; pos < len; pos++) {
      const ch = line[pos]!
      if (quote === '' && isSpace(ch)) break
      if (quote === '' ? ch === '\'' || ch === '"' : ch === quote) {
        word += line.slice(segment, pos)
        segment = pos + 1
        if (quote === '') { quote = ch; hasQuote = true } else quote = ''
      } else if (ch === escapeToken) {
        word += line.slice(segment, pos)
        segment = pos + 1
        if (pos + 1 === len) quote = ''
        else pos++
      }
    }
    word += line.slice(segment, Math.min(pos, len))
    if (word === '--' && !hasQuote) {
      return { rest: pos >= len ? '' : line.slice(pos), flags }
    }
    if (hasQuote || word.length > 0) flags.push(word)
  }
}
