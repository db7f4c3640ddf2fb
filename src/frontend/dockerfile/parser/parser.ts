/**
 * Dockerfile text → AST, line-compatible with BuildKit's parser: same
 * continuation, comment, directive and heredoc rules, same argument
 * splitting (see lineParsers.ts), so the dump of the AST matches its dump.
 */
import { DockerfileError, type SourceRange } from '../../../common/errors.js'
import { DirectiveScanner } from './directives.js'
import { chompHeredocContent, heredocsFromLine } from './heredoc.js'
import {
  LineSyntaxError, parseHealthConfig, parseMaybeJson, parseMaybeJsonToList, parseNameOrNameVal,
  parseNameVal, parseString, parseStringsWhitespaceDelimited, type LineArgs,
} from './lineParsers.js'
import { splitCommand } from './splitCommand.js'
import { isSpace, trimLeftSpace, trimSpace } from './text.js'
import type { AstNode, Directive, Heredoc, ParseOptions, ParseResult, ParseWarning } from './types.js'

type EscapeToken = '\\' | '`'

const heredocKeywords = new Set(['add', 'copy', 'run'])

function dispatch (keyword: string, rest: string, escapeToken: EscapeToken): LineArgs {
  switch (keyword) {
    case 'add': case 'copy': case 'volume': return parseMaybeJsonToList(rest)
    case 'arg': return parseNameOrNameVal(rest, escapeToken)
    case 'cmd': case 'entrypoint': case 'run': case 'shell': return parseMaybeJson(rest)
    case 'env': return parseNameVal(rest, 'ENV', escapeToken)
    case 'label': return parseNameVal(rest, 'LABEL', escapeToken)
    case 'expose': case 'from': return parseStringsWhitespaceDelimited(rest)
    case 'healthcheck': return parseHealthConfig(rest)
    case 'maintainer': case 'stopsignal': case 'user': case 'workdir': return parseString(rest)
    // BuildKit keeps unknown keywords with one empty argument; the instruction layer rejects them.
    default: return { args: [''], json: false }
  }
}

function nodeFromLine (line: string, escapeToken: EscapeToken, comments: string[], range: SourceRange): AstNode {
  const { keyword, flags, rest } = splitCommand(line, escapeToken)
  const value = keyword.toLowerCase()
  if (value === 'onbuild') {
    const node: AstNode = { value, original: line, flags, args: [], json: false, heredocs: NO_HEREDOCS, range, prevComment: comments }
    if (rest !== '') node.next = nodeFromLine(rest, escapeToken, [], range)
    return node
  }
  const { args, json } = dispatch(value, rest, escapeToken)
  return { value, original: line, flags, args, json, heredocs: NO_HEREDOCS, range, prevComment: comments }
}

/** Shared by every node without comments above it. */
const NO_COMMENTS: string[] = Object.freeze([]) as unknown as string[]

/** Shared by every node without heredocs (nodes get their own list when they have some). */
const NO_HEREDOCS: Heredoc[] = Object.freeze([]) as unknown as Heredoc[]

function canContainHeredoc (node: AstNode): boolean {
  const target = node.value === 'onbuild' && node.next !== undefined ? node.next : node
  return heredocKeywords.has(target.value) && !target.json
}

/** Strip one trailing `\n` and any `\r`s before it, as BuildKit's trimNewline does. */
function trimNewline (s: string): string {
  let end = s.length
  while (end > 0 && (s.charCodeAt(end - 1) === 10 || s.charCodeAt(end - 1) === 13)) end--
  return end === s.length ? s : s.slice(0, end)
}

const isComment = (line: string): boolean => trimLeftSpace(line).startsWith('#')

/**
 * Remove a trailing line-continuation token: the escape token as the last
 * non-blank character, unless it is itself escaped (or alone on the line).
 * Returns undefined when the line does not continue.
 */
function trimContinuation (line: string, escapeToken: EscapeToken): string | undefined {
  let end = line.length
  while (end > 0 && (line[end - 1] === ' ' || line[end - 1] === '\t')) end--
  if (end === 0 || line[end - 1] !== escapeToken) return undefined
  if (end === 1) return ''
  if (line[end - 2] === escapeToken) return undefined
  return line.slice(0, end - 1)
}

function lineRange (lines: readonly string[], start: number, end: number): SourceRange {
  const first = lines[start - 1] ?? ''
  let col = 0
  while (col < first.length && isSpace(first[col]!)) col++
  return { start: { line: start, character: col }, end: { line: end, character: trimNewline(lines[end - 1] ?? '').length } }
}

/** Split keeping each line's `\n`, like BuildKit's scanner. */
function splitLines (text: string): string[] {
  const lines: string[] = []
  let start = 0
  for (;;) {
    const nl = text.indexOf('\n', start)
    if (nl < 0) break
    lines.push(text.slice(start, nl + 1))
    start = nl + 1
  }
  if (start < text.length) lines.push(text.slice(start))
  return lines
}

export function parse (text: string, opts: ParseOptions = {}): ParseResult {
  const file = opts.file ?? 'Dockerfile'
  const lines = splitLines(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text)
  const fail = (err: unknown, start: number, end: number): never => {
    if (!(err instanceof LineSyntaxError)) throw err
    const at = Math.max(start, 1)
    throw new DockerfileError('DOCKERFILE_SYNTAX', `${file}:${at}: ${err.message}`, { file, ranges: [lineRange(lines, at, Math.max(end, at))] })
  }

  const scanner = new DirectiveScanner()
  let escapeToken: EscapeToken = '\\'
  const directives: Directive[] = []
  const nodes: AstNode[] = []
  const warnings: ParseWarning[] = []
  let comments: string[] = NO_COMMENTS
  let n = 0 // lines consumed so far; the 1-based number of the last one read
  const onNode = opts.onNode
  let first: SourceRange | undefined
  let last: SourceRange | undefined

  while (n < lines.length) {
    const raw = lines[n]!
    if (isComment(raw)) {
      // BuildKit drops only the first character of the raw line, whatever it is.
      const comment = trimSpace(raw.slice(1))
      comments = comment === '' ? NO_COMMENTS : [...comments, comment]
    }
    let line = trimLeftSpace(trimNewline(raw))
    try {
      const directive = scanner.scan(line)
      if (directive !== undefined) {
        if (directive.name === 'escape') {
          if (directive.value !== '\\' && directive.value !== '`') {
            throw new LineSyntaxError(`invalid escape token '${directive.value}' does not match \` or \\`)
          }
          escapeToken = directive.value
        }
        directives.push({ ...directive, range: lineRange(lines, n + 1, n + 1) })
        comments = comments.slice(0, -1)
      }
    } catch (err) { fail(err, n + 1, n + 1) }
    if (isComment(line)) line = ''
    n++
    const startLine = n

    let joined = trimContinuation(line, escapeToken)
    let isEnd = joined === undefined
    if (isEnd && line === '') continue
    let buf = joined ?? line
    let hasEmptyContinuation = false
    while (!isEnd && n < lines.length) {
      const next = trimNewline(lines[n]!)
      n++
      if (isComment(next)) continue
      if (trimLeftSpace(next) === '') { hasEmptyContinuation = true; continue }
      joined = trimContinuation(next, escapeToken)
      isEnd = joined === undefined
      buf += joined ?? next
    }

    if (hasEmptyContinuation) {
      warnings.push({
        rule: 'NoEmptyContinuation',
        message: `Empty continuation line found in: ${buf}`,
        url: 'https://docs.docker.com/go/dockerfile/rule/no-empty-continuation/',
        range: { start: { line: n, character: 0 }, end: { line: n, character: 0 } },
      })
    }

    let node: AstNode
    try {
      node = nodeFromLine(buf, escapeToken, comments, lineRange(lines, startLine, n))
    } catch (err) { return fail(err, startLine, n) }

    if (canContainHeredoc(node) && buf.includes('<<')) {
      let openers: ReturnType<typeof heredocsFromLine> = []
      try { openers = heredocsFromLine(buf) } catch (err) { fail(err, startLine, n) }
      const heredocs: Heredoc[] = []
      for (const opener of openers) {
        let content = ''
        let isTerminated = false
        while (n < lines.length) {
          const bodyLine = lines[n]!
          n++
          let candidate = trimNewline(bodyLine)
          if (opener.chomp) candidate = candidate.replace(/^\t+/, '')
          if (candidate === opener.name) { isTerminated = true; break }
          content += bodyLine
        }
        if (!isTerminated) fail(new LineSyntaxError('unterminated heredoc'), startLine, n)
        heredocs.push({ ...opener, content })
      }
      const target = node.value === 'onbuild' && node.next !== undefined ? node.next : node
      target.heredocs = heredocs
      if (target !== node) node.heredocs = heredocs
      node.range = lineRange(lines, startLine, n)
      if (target !== node) target.range = node.range
    }

    if (onNode !== undefined) onNode(node)
    else nodes.push(node)
    first ??= node.range
    last = node.range
    comments = NO_COMMENTS
  }

  if (first === undefined || last === undefined) return fail(new LineSyntaxError('file with no instructions'), n, n)
  return { nodes, directives, escapeToken, warnings, range: { start: first.start, end: last.end } }
}

export { chompHeredocContent }
