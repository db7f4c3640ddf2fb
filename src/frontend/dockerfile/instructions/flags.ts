/**
 * `--flag[=value]` handling for one instruction, with BuildKit's rules: a
 * string flag needs a value and may appear once, a bool flag takes none or
 * true/false, a list flag may repeat.
 */
import { didYouMean } from './suggest.js'

export class InstructionSyntaxError extends Error {}

export type FlagKind = 'string' | 'bool' | 'list'
export type FlagSpec = Readonly<Record<string, FlagKind>>

export interface ParsedFlags {
  string (name: string): string | undefined
  bool (name: string): boolean | undefined
  list (name: string): string[]
}

const noFlags: ParsedFlags = { string: () => undefined, bool: () => undefined, list: () => [] }

export function parseFlags (keyword: string, raw: readonly string[], spec: FlagSpec): ParsedFlags {
  if (raw.length === 0) return noFlags // the common case; skips three Maps per instruction
  const strings = new Map<string, string>()
  const bools = new Map<string, boolean>()
  const lists = new Map<string, string[]>()
  for (const arg of raw) {
    if (!arg.startsWith('--')) throw new InstructionSyntaxError(`${keyword}: argument should start with --: ${arg}`)
    const eq = arg.indexOf('=')
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq)
    const value = eq < 0 ? undefined : arg.slice(eq + 1)
    const kind = spec[name]
    if (kind === undefined) {
      const known = Object.keys(spec)
      throw new InstructionSyntaxError(`unknown flag for ${keyword}: --${name}${didYouMean(name, known).replace(/mean (\S+)\?/, 'mean --$1?')}` +
        (known.length === 0 ? ` (${keyword} takes no flags)` : ''))
    }
    switch (kind) {
      case 'bool': {
        if (bools.has(name)) throw new InstructionSyntaxError(`${keyword}: duplicate flag specified: --${name}`)
        const v = value?.toLowerCase()
        if (v !== undefined && v !== 'true' && v !== 'false') {
          throw new InstructionSyntaxError(`${keyword}: expecting boolean value for flag --${name}, not: ${value}`)
        }
        bools.set(name, v !== 'false')
        break
      }
      case 'string':
        if (value === undefined) throw new InstructionSyntaxError(`${keyword}: missing a value on flag: --${name}`)
        if (strings.has(name)) throw new InstructionSyntaxError(`${keyword}: duplicate flag specified: --${name}`)
        strings.set(name, value)
        break
      case 'list':
        if (value === undefined) throw new InstructionSyntaxError(`${keyword}: missing a value on flag: --${name}`)
        lists.set(name, [...(lists.get(name) ?? []), value])
        break
    }
  }
  return {
    string: (name) => strings.get(name),
    bool: (name) => bools.get(name),
    list: (name) => lists.get(name) ?? [],
  }
}
