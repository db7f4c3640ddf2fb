/**
 * Which checks run and whether they fail the build: the `# check=` directive
 * (or the BUILDKIT_DOCKERFILE_CHECK build arg, which replaces it), narrowed
 * per instruction by a `# check=…` comment right above it.
 */
import { TsbuildError, type SourceRange } from '../../../common/errors.js'
import { matchDirective } from '../parser/directives.js'
import { RULES, type RuleName } from './rules.js'
import type { CheckFinding } from './types.js'

export interface CheckConfig {
  isSkipAll: boolean
  skip: ReadonlySet<string>
  isExperimentalAll: boolean
  experimental: ReadonlySet<string>
  isError: boolean
}

export const defaultCheckConfig: CheckConfig = { isSkipAll: false, skip: new Set(), isExperimentalAll: false, experimental: new Set(), isError: false }

const BOOLS: Record<string, boolean> = { 1: true, t: true, T: true, true: true, TRUE: true, True: true, 0: false, f: false, F: false, false: false, FALSE: false, False: false }

/** `skip=A,B;error=true;experimental=all`. Throws TsbuildError USAGE naming `source` on a bad option. */
export function parseCheckOptions (text: string, source = 'check options'): CheckConfig {
  const trimmed = text.trim()
  const config = { ...defaultCheckConfig, skip: new Set<string>(), experimental: new Set<string>() }
  if (trimmed === '') return config
  for (const part of splitN(trimmed, ';', 3)) {
    const eq = part.indexOf('=')
    if (eq < 0) throw new TsbuildError('USAGE', `${source}: invalid check option ${JSON.stringify(part)}: expected skip=, error= or experimental=`)
    const key = part.slice(0, eq).trim()
    const value = part.slice(eq + 1).trim()
    if (key === 'skip' || key === 'experimental') {
      const names = value === 'all' ? [] : value.split(',').map(s => s.trim())
      if (key === 'skip') { config.isSkipAll = value === 'all'; names.forEach(n => config.skip.add(n)) } else { config.isExperimentalAll = value === 'all'; names.forEach(n => config.experimental.add(n)) }
    } else if (key === 'error') {
      const b = BOOLS[value]
      if (b === undefined) throw new TsbuildError('USAGE', `${source}: invalid value ${JSON.stringify(value)} for error: expected true or false`)
      config.isError = b
    } else {
      throw new TsbuildError('USAGE', `${source}: invalid check option ${JSON.stringify(key)}: expected skip, error or experimental`)
    }
  }
  return config
}

/** Go's strings.SplitN: at most n parts, the last keeps the rest. */
function splitN (s: string, sep: string, n: number): string[] {
  const parts = s.split(sep)
  return parts.length <= n ? parts : [...parts.slice(0, n - 1), parts.slice(n - 1).join(sep)]
}

/** Widen `base` with `extra`: skips and experiments add up; error=true is not taken from comments. */
export function mergeCheckConfig (base: CheckConfig, extra: CheckConfig): CheckConfig {
  return {
    isSkipAll: base.isSkipAll || extra.isSkipAll,
    skip: new Set([...base.skip, ...extra.skip]),
    isExperimentalAll: base.isExperimentalAll || extra.isExperimentalAll,
    experimental: new Set([...base.experimental, ...extra.experimental]),
    isError: base.isError,
  }
}

/** Collects findings for one Dockerfile, honouring the config in force where each is found. */
export class Linter {
  readonly findings: CheckFinding[]

  constructor (readonly file: string, readonly config: CheckConfig, findings: CheckFinding[] = []) {
    this.findings = findings
  }

  /** The linter for an instruction with these comments above it; a bad `check=` comment is ignored. */
  withComments (comments: readonly string[]): Linter {
    for (const comment of comments) {
      const d = matchDirective(comment)
      if (d === undefined || d.name !== 'check') continue
      let extra: CheckConfig
      try { extra = parseCheckOptions(d.value.split(' ')[0]!) } catch { return this }
      return new Linter(this.file, mergeCheckConfig(this.config, extra), this.findings)
    }
    return this
  }

  isEnabled (name: RuleName): boolean {
    const c = this.config
    if (RULES[name].isExperimental === true) return c.isExperimentalAll || c.experimental.has(name)
    return !c.isSkipAll && !c.skip.has(name)
  }

  report (name: RuleName, range: SourceRange | undefined, message: string): void {
    if (!this.isEnabled(name)) return
    this.findings.push({ rule: name, message, file: this.file, ...(range !== undefined ? { range } : {}) })
  }
}
