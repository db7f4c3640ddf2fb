import type { ChownOpt } from '../../../llb/index.js'

const idOrName = (s: string): number | string => (/^\d+$/.test(s) ? Number(s) : s)

/**
 * `user[:group]` as a file-op owner. Ids stay numbers; names are passed on
 * as strings for the solver to resolve against the target's /etc/passwd
 * and /etc/group.
 */
export function parseUser (spec: string): ChownOpt {
  const colon = spec.indexOf(':')
  if (colon < 0) return { user: idOrName(spec) }
  const user = spec.slice(0, colon)
  const group = spec.slice(colon + 1)
  return { user: idOrName(user), ...(group !== '' ? { group: idOrName(group) } : {}) }
}
