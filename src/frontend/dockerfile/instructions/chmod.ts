/** A validated `--chmod`: octal (`0755`, `644`) or symbolic clauses (`u+x,g-w,o=r`). */
export type Chmod = { kind: 'octal'; mode: number } | { kind: 'symbolic'; clauses: string[] }

const symbolicClause = /^[ugoa]*(?:[-+=][rwxXst]*)+$/

/** Undefined when the value is neither form. */
export function parseChmod (value: string): Chmod | undefined {
  if (/^[0-7]{1,4}$/.test(value)) return { kind: 'octal', mode: Number.parseInt(value, 8) }
  const clauses = value.split(',')
  return clauses.every(c => symbolicClause.test(c)) ? { kind: 'symbolic', clauses } : undefined
}
