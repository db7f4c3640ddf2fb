import { isSpace, splitBlanks, trimSpace } from './text.js'

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

function extractBuilderFlags (line: string, escapeToken: string): { rest: string; flags: string[] } {
  const flags: string[] = []
  let word = ''
  let inWord = false
  let quote = ''
  let blankOk = false
  for (let pos = 0; pos < line.length; pos++) {
    let ch = line[pos]!
    if (!inWord) {
      if (isSpace(ch)) continue
      if (ch !== '-' || line[pos + 1] !== '-') return { rest: line.slice(pos), flags }
      inWord = true
    }
    if (quote === '') {
      if (isSpace(ch)) {
        if (word === '--') return { rest: line.slice(pos), flags }
        if (blankOk || word.length > 0) flags.push(word)
        word = ''
        blankOk = false
        inWord = false
        continue
      }
      if (ch === '\'' || ch === '"') { quote = ch; blankOk = true; continue }
      if (ch === escapeToken) {
        if (pos + 1 === line.length) continue
        ch = line[++pos]!
      }
      word += ch
      continue
    }
    if (ch === quote) { quote = ''; continue }
    if (ch === escapeToken) {
      if (pos + 1 === line.length) { quote = ''; continue }
      ch = line[++pos]!
    }
    word += ch
  }
  if (inWord && word !== '--' && (blankOk || word.length > 0)) flags.push(word)
  return { rest: '', flags }
}
