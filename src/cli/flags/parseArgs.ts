import { TsbuildError } from '../../common/errors.js'
import { nearest } from './nearest.js'

/** Declares one command-line option, docker/buildx style. */
export interface FlagSpec {
  long: string // without dashes, e.g. 'build-arg'
  short?: string // one letter, e.g. 't'
  kind: 'bool' | 'string' | 'list' // list = repeatable
  /** `--print=llb` style: may take its value only with `=`, else it is a bool. */
  optionalValue?: boolean
  /** Split values on commas as buildx does for --platform. */
  commaList?: boolean
}

export interface ParsedArgs {
  values: Map<string, string | boolean | string[]>
  positionals: string[]
}

/**
 * Parse argv against a flag table. Accepts `--flag value`, `--flag=value`,
 * `-t value`, `-tvalue`, bundled bool shorts, and `--` to end flags. Unknown
 * flags are usage errors that suggest the nearest spelling, unless
 * `explainUnknown` knows better (another tool's flag, say).
 */
export function parseArgs (argv: readonly string[], specs: readonly FlagSpec[], command: string, explainUnknown?: (flag: string) => TsbuildError | undefined): ParsedArgs {
  const byLong = new Map(specs.map((s) => [s.long, s]))
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]))
  const values = new Map<string, string | boolean | string[]>()
  const positionals: string[] = []

  const set = (spec: FlagSpec, value: string | boolean): void => {
    if (spec.kind === 'list') {
      const prev = (values.get(spec.long) as string[] | undefined) ?? []
      const parts = spec.commaList && typeof value === 'string' ? value.split(',').map((p) => p.trim()).filter(Boolean) : [String(value)]
      values.set(spec.long, [...prev, ...parts])
    } else {
      values.set(spec.long, value)
    }
  }

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--') { positionals.push(...argv.slice(i + 1)); break }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=')
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq)
      const spec = byLong.get(name)
      if (spec === undefined) throw explainUnknown?.(`--${name}`) ?? unknownFlag(`--${name}`, specs, command)
      if (spec.kind === 'bool' || (spec.optionalValue && eq === -1)) {
        if (eq !== -1 && spec.kind === 'bool') set(spec, parseBool(arg.slice(eq + 1), `--${name}`))
        else if (eq !== -1) set(spec, arg.slice(eq + 1))
        else set(spec, true)
        continue
      }
      let value: string | undefined
      if (eq !== -1) value = arg.slice(eq + 1)
      else value = argv[++i]
      if (value === undefined) throw new TsbuildError('USAGE', `flag needs an argument: --${name}`, { hint: `tsbuild ${command} --${name} VALUE` })
      set(spec, value)
      continue
    }
    if (arg.startsWith('-') && arg !== '-') {
      for (let j = 1; j < arg.length; j++) {
        const letter = arg[j]!
        const spec = byShort.get(letter)
        if (spec === undefined) throw unknownFlag(`-${letter}`, specs, command)
        if (spec.kind === 'bool') { set(spec, true); continue }
        let value: string | undefined = arg.slice(j + 1)
        if (value.startsWith('=')) value = value.slice(1)
        if (value === '') value = argv[++i]
        if (value === undefined) throw new TsbuildError('USAGE', `flag needs an argument: -${letter}`)
        set(spec, value)
        break
      }
      continue
    }
    positionals.push(arg)
  }
  return { values, positionals }
}

function parseBool (s: string, flag: string): boolean {
  if (/^(1|true|t|yes)$/i.test(s)) return true
  if (/^(0|false|f|no)$/i.test(s)) return false
  throw new TsbuildError('USAGE', `invalid value ${JSON.stringify(s)} for ${flag}: expected true or false`)
}

function unknownFlag (flag: string, specs: readonly FlagSpec[], command: string): TsbuildError {
  const all = specs.flatMap((s) => [`--${s.long}`, ...(s.short ? [`-${s.short}`] : [])])
  const guess = nearest(flag, all)
  return new TsbuildError('USAGE', `unknown flag: ${flag}`, {
    hint: guess !== undefined ? `did you mean ${guess}? (see tsbuild ${command} --help)` : `see tsbuild ${command} --help`,
  })
}

export function getString (p: ParsedArgs, name: string): string | undefined {
  const v = p.values.get(name)
  return typeof v === 'string' ? v : undefined
}
export function getBool (p: ParsedArgs, name: string): boolean {
  return p.values.get(name) === true
}
export function getList (p: ParsedArgs, name: string): string[] {
  const v = p.values.get(name)
  return Array.isArray(v) ? v : []
}
