import { TsbuildError } from '../../common/errors.js'

/**
 * Split a buildx-style `k=v,k2="v,2"` spec. Fields may be double-quoted (as
 * Go's encoding/csv reads them), so values can contain commas.
 */
export function splitCsv (spec: string): string[] {
  const out: string[] = []
  let cur = ''
  let quoted = false
  for (let i = 0; i < spec.length; i++) {
    const c = spec[i]!
    if (quoted) {
      if (c === '"' && spec[i + 1] === '"') { cur += '"'; i++ } else if (c === '"') quoted = false
      else cur += c
    } else if (c === '"') quoted = true
    else if (c === ',') { out.push(cur); cur = '' } else cur += c
  }
  if (quoted) throw new TsbuildError('USAGE', `unterminated quote in ${JSON.stringify(spec)}`)
  out.push(cur)
  return out.map((s) => s.trim()).filter((s) => s !== '')
}

/** Parse `k=v,...` into ordered pairs; a field without `=` gets value undefined. */
export function parseKeyValues (spec: string): Array<[string, string | undefined]> {
  return splitCsv(spec).map((f) => {
    const eq = f.indexOf('=')
    return eq === -1 ? [f.toLowerCase(), undefined] : [f.slice(0, eq).trim().toLowerCase(), f.slice(eq + 1)]
  })
}
