/** BuildKit's AST dump format (`(run "echo hi")`), used by its parser test data and `tsbuild debug dump-ast`. */
import type { AstNode } from './types.js'

const isPrintable = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u

/** Go's strconv.Quote. */
export function goQuote (s: string): string {
  let out = '"'
  for (const ch of s) {
    const code = ch.codePointAt(0)!
    switch (ch) {
      case '"': out += '\\"'; continue
      case '\\': out += '\\\\'; continue
      case '\x07': out += '\\a'; continue
      case '\b': out += '\\b'; continue
      case '\f': out += '\\f'; continue
      case '\n': out += '\\n'; continue
      case '\r': out += '\\r'; continue
      case '\t': out += '\\t'; continue
      case '\v': out += '\\v'; continue
    }
    if (code < 0x20 || code === 0x7f) out += '\\x' + code.toString(16).padStart(2, '0')
    else if (code < 0x7f || isPrintable.test(ch)) out += ch
    else if (code >= 0xd800 && code <= 0xdfff) out += '\ufffd' // a lone surrogate: Go holds U+FFFD in its place
    else if (code < 0x10000) out += '\\u' + code.toString(16).padStart(4, '0')
    else out += '\\U' + code.toString(16).padStart(8, '0')
  }
  return out + '"'
}

export function dumpNode (node: AstNode): string {
  let s = node.value
  if (node.flags.length > 0) s += ` [${node.flags.map(goQuote).join(' ')}]`
  if (node.next !== undefined) s += ` (${dumpNode(node.next)})`
  for (const arg of node.args) s += ' ' + goQuote(arg)
  return s.trim()
}

/** One `(…)` line per instruction, newline-terminated, as BuildKit's result files. */
export function dumpAst (nodes: readonly AstNode[]): string {
  let out = ''
  for (const node of nodes) out += `(${dumpNode(node)})\n`
  return out
}
