import type { SourceRange } from '../../../common/errors.js'

/** A heredoc attached to RUN/COPY/ADD. `content` is raw: tab-stripping for `<<-` happens when instructions are built. */
export interface Heredoc {
  /** The delimiter word with quotes removed. */
  name: string
  /** Leading file descriptor, `3<<EOF` → 3; 0 when absent. */
  fileDescriptor: number
  /** False when any part of the delimiter was quoted: the body is then taken literally. */
  expand: boolean
  /** `<<-`: leading tabs are stripped from the body and the terminator. */
  chomp: boolean
  content: string
}

/**
 * One instruction as BuildKit's parser sees it: the keyword, its `--flags`,
 * and the arguments split per BuildKit's line parser for that keyword.
 * Plain data so it can be dumped, compared and serialised.
 */
export interface AstNode {
  /** Lowercased keyword (`run`, `from`, …); unknown keywords are kept too. */
  value: string
  /** The logical line (continuations joined) the node was parsed from. */
  original: string
  flags: string[]
  args: string[]
  /** ONBUILD's nested instruction. */
  next?: AstNode
  /** Arguments came from a JSON array (exec form). */
  json: boolean
  heredocs: Heredoc[]
  range: SourceRange
  /** Comment lines directly above the instruction, `#` and surrounding space removed. */
  prevComment: string[]
}

export interface Directive {
  /** Lowercased: `syntax`, `escape` or `check`. */
  name: string
  value: string
  range: SourceRange
}

export interface ParseWarning {
  /** The check it belongs to, e.g. `NoEmptyContinuation`. */
  rule: string
  message: string
  url: string
  range: SourceRange
}

export interface ParseResult {
  nodes: AstNode[]
  directives: Directive[]
  escapeToken: '\\' | '`'
  warnings: ParseWarning[]
  /** From the first instruction's start to the last one's end. */
  range: SourceRange
}

export interface ParseOptions {
  /** Name used in error messages; defaults to `Dockerfile`. */
  file?: string
  /**
   * Receive each node as soon as it is complete instead of in `nodes` (which
   * then stays empty). Whoever turns nodes into something else lets each one
   * go at once, so a big file's nodes never pile up in memory together.
   */
  onNode?: (node: AstNode) => void
}
