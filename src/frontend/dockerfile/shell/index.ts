/**
 * Word expansion with BuildKit's shell semantics: quotes, the escape token,
 * `$V`/`${V}` and the `${V:-d}`-style modifiers, plus the key=value helper
 * ENV, ARG and LABEL use.
 */
export { ShellLex } from './lex.js'
export { ExpansionError } from './expansionError.js'
export type { EscapeToken, ShellLexOptions, ProcessWordResult, ProcessWordsResult } from './lex.js'
export { toEnvGetter, envFromList, OverlayEnv } from './env.js'
export type { EnvGetter, EnvSource } from './env.js'
export { expandKeyValueWords, applyKeyValues } from './keyValues.js'
export type { KeyValue, ExpandKeyValuesOptions, ExpandKeyValuesResult } from './keyValues.js'
export { ShellPattern, PatternSyntaxError } from './pattern.js'
export { isUnicodeSpace } from './wordSplitter.js'
