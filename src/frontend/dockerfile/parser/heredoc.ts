/**
 * Heredoc detection on an instruction's logical line, with BuildKit's rules:
 * a word of the form `[fd]<<[-]WORD`; a quoted WORD (`"EOF"`, `'EOF'`, `E"O"F`)
 * turns expansion of the body off. The heredoc lexer always uses `\` as its
 * escape, whatever the escape directive says (as BuildKit does).
 */
import type { Heredoc } from './types.js'
import { LineSyntaxError } from './lineParsers.js'
import { isSpace } from './text.js'

/** Split a line into shell words, keeping quotes and escapes verbatim; undefined on an unterminated quote. */
function rawShellWords (line: string): string[] | undefined {
  const words: string[] = []
  let word = ''
  let inWord = false
  let quote = ''
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!
    if (quote !== '') {
      word += ch
      if (ch === quote) quote = ''
      else if (ch === '\\' && quote === '"' && i + 1 < line.length) word += line[++i]!
      continue
    }
    if (isSpace(ch)) {
      if (inWord) words.push(word)
      word = ''
      inWord = false
      continue
    }
    inWord = true
    if (ch === '<' && line[i + 1] === '<') {
      // BuildKit's lexer lets whitespace follow `<<` inside the same word: `<<  EOF` is one heredoc.
      word += '<<'
      i += 2
      while (i < line.length && isSpace(line[i]!)) word += line[i++]!
      i--
      continue
    }
    word += ch
    if (ch === '\'' || ch === '"') quote = ch
    else if (ch === '\\' && i + 1 < line.length) word += line[++i]!
  }
  if (quote !== '') return undefined
  if (inWord) words.push(word)
  return words
}

const isGoRegexpSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\f' || c === '\r'

/** Parse one word as a heredoc opener; undefined when it is not one. */
export function parseHeredocWord (word: string): Omit<Heredoc, 'content'> | undefined {
  let i = 0
  while (i < word.length && word.charCodeAt(i) >= 48 && word.charCodeAt(i) <= 57) i++
  const fdText = word.slice(0, i)
  if (!word.startsWith('<<', i)) return undefined
  i += 2
  const chomp = word[i] === '-'
  if (chomp) i++
  while (i < word.length && isGoRegexpSpace(word[i]!)) i++
  const rest = word.slice(i)
  if (rest === '' || rest.includes('<')) return undefined

  let name = ''
  let quote = ''
  let wasQuoted = false
  for (let j = 0; j < rest.length; j++) {
    const ch = rest[j]!
    if (quote !== '') {
      if (ch === quote) { quote = ''; continue }
      if (ch === '\\' && quote === '"' && j + 1 < rest.length && '"\\$`'.includes(rest[j + 1]!)) { name += rest[++j]!; continue }
      name += ch
      continue
    }
    if (ch === '\'' || ch === '"') { quote = ch; wasQuoted = true; continue }
    if (ch === '\\' && j + 1 < rest.length) { name += rest[++j]!; continue }
    if (isSpace(ch)) return undefined // more than one word
    name += ch
  }
  if (quote !== '') throw new LineSyntaxError(`unterminated quote in heredoc delimiter ${rest}`)
  return { name, fileDescriptor: fdText === '' ? 0 : Number.parseInt(fdText, 10), expand: !wasQuoted, chomp }
}

/** All heredoc openers on a logical line, in order. */
export function heredocsFromLine (line: string): Array<Omit<Heredoc, 'content'>> {
  const docs: Array<Omit<Heredoc, 'content'>> = []
  for (const word of rawShellWords(line) ?? []) {
    const doc = parseHeredocWord(word)
    if (doc !== undefined) docs.push(doc)
  }
  return docs
}

/** `<<-`: drop leading tabs on every line of the body. */
export function chompHeredocContent (content: string): string {
  return content.replace(/^\t+/gm, '')
}
