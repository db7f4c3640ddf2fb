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
  if (raw.length === 0) return noFlags // the common case
  // One Map for all three kinds: the spec gives each name one kind.
  const values = new Map<string, string | boolean | string[]>()
  for (let i = 0; i < raw.length; i++) {
    const arg = raw[i]!
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
        if (values.has(name)) throw new InstructionSyntaxError(`${keyword}: duplicate flag specified: --${name}`)
        const v = value?.toLowerCase()
        if (v !== undefined && v !== 'true' && v !== 'false') {
          throw new InstructionSyntaxError(`${keyword}: expecting boolean value for flag --${name}, not: ${value}`)
        }
        values.set(name, v !== 'false')
        break
      }
      case 'string':
        if (value === undefined) throw new InstructionSyntaxError(`${keyword}: missing a value on flag: --${name}`)
        if (values.has(name)) throw new InstructionSyntaxError(`${keyword}: duplicate flag specified: --${name}`)
        values.set(name, value)
        break
      case 'list':
        if (value === undefined) throw new InstructionSyntaxError(`${keyword}: missing a value on flag: --${name}`)
        const list = values.get(name) as string[] | undefined
        if (list === undefined) values.set(name, [value])
        else list.push(value)
        break
    }
  }
  return {
    string: (name) => { const v = values.get(name); return typeof v === 'string' ? v : undefined },
    bool: (name) => { const v = values.get(name); return typeof v === 'boolean' ? v : undefined },
    list: (name) => { const v = values.get(name); return Array.isArray(v) ? v.slice() : [] },
  }
}
