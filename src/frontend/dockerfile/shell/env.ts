/**
 * The variables a word is expanded against. Expansion only ever reads what it
 * is handed here, never the process environment.
 */
export interface EnvGetter {
  /** The value, or undefined when the variable is unset (set-but-empty is ''). */
  get (name: string): string | undefined
}

/**
 * Anything expansion accepts as an environment:
 * - an `EnvGetter` — a `Map<string, string>` is one, and keeps insertion order;
 * - an ordered list of `KEY=VALUE` strings, where the last entry for a key wins
 *   and an entry without `=` sets the key to ''.
 */
export type EnvSource = EnvGetter | readonly string[]

export function toEnvGetter (env: EnvSource): EnvGetter {
  return isEnvList(env) ? new EnvList(env) : env
}

function isEnvList (env: EnvSource): env is readonly string[] {
  return Array.isArray(env)
}

/**
 * Build a Map from `KEY=VALUE` strings once, for callers that expand many
 * words against the same list (a lookup in the raw list is a linear scan).
 */
export function envFromList (list: readonly string[]): Map<string, string> {
  const map = new Map<string, string>()
  for (const entry of list) {
    const eq = entry.indexOf('=')
    if (eq < 0) map.set(entry, '')
    else map.set(entry.slice(0, eq), entry.slice(eq + 1))
  }
  return map
}

/**
 * Looks names up in a `KEY=VALUE` list without building anything: words name
 * few variables, so scanning from the end (last entry wins) beats a Map built
 * per call.
 */
class EnvList implements EnvGetter {
  constructor (private readonly list: readonly string[]) {}

  get (name: string): string | undefined {
    const list = this.list
    for (let i = list.length - 1; i >= 0; i--) {
      const entry = list[i] as string
      if (!entry.startsWith(name)) continue
      if (entry.length === name.length) return ''
      if (entry.charCodeAt(name.length) === 61 /* = */) return entry.slice(name.length + 1)
    }
    return undefined
  }
}

/** Looks in `top` first, then in `base`; used where one instruction's earlier pairs shadow the env. */
export class OverlayEnv implements EnvGetter {
  constructor (private readonly top: ReadonlyMap<string, string>, private readonly base: EnvGetter) {}

  get (name: string): string | undefined {
    const v = this.top.get(name)
    return v !== undefined ? v : this.base.get(name)
  }
}
