export type { AstNode, Directive, Heredoc, ParseOptions, ParseResult, ParseWarning } from './types.js'
export { parse, chompHeredocContent } from './parser.js'
export { dumpAst, dumpNode, goQuote } from './dump.js'
export { parseHeredocWord } from './heredoc.js'
