import { TsbuildError } from '../../../common/errors.js'

/**
 * A `--chmod` value: octal (`755`, `0644`) or symbolic (`u+x,g-w,o=r`,
 * `a+rX`), as Dockerfile COPY/ADD accept since BuildKit 1.7 (labs) / 1.14.
 */
export type ModeSpec = { kind: 'octal'; mode: number } | { kind: 'symbolic'; clauses: SymbolicClause[]; text: string }

interface SymbolicClause { who: number; op: '+' | '-' | '='; perm: string }

export function parseModeSpec (text: string): ModeSpec {
  if (/^[0-7]{1,4}$/.test(text)) return { kind: 'octal', mode: parseInt(text, 8) }
  const clauses: SymbolicClause[] = []
  for (const part of text.split(',')) {
    const m = /^([ugoa]*)([-+=])([rwxXst]*)$/.exec(part)
    if (m === null) throw new TsbuildError('INVALID_INSTRUCTION', `invalid chmod ${JSON.stringify(text)}: expected octal (0755) or symbolic (u+x,g-w)`)
    let who = 0
    for (const c of m[1]!) who |= c === 'u' ? 0o4700 : c === 'g' ? 0o2070 : c === 'o' ? 0o1007 : 0o7777
    if (who === 0) who = 0o7777
    clauses.push({ who, op: m[2] as '+' | '-' | '=', perm: m[3]! })
  }
  return { kind: 'symbolic', clauses, text }
}

/** Apply a mode spec to an existing mode (permission bits only, file type kept by the caller). */
export function applyMode (spec: ModeSpec, current: number, isDir: boolean): number {
  if (spec.kind === 'octal') return spec.mode
  let mode = current & 0o7777
  for (const c of spec.clauses) {
    let bits = 0
    for (const p of c.perm) {
      if (p === 'r') bits |= 0o444
      else if (p === 'w') bits |= 0o222
      else if (p === 'x') bits |= 0o111
      else if (p === 'X') { if (isDir || (current & 0o111) !== 0) bits |= 0o111 } else if (p === 's') bits |= 0o6000
      else if (p === 't') bits |= 0o1000
    }
    bits &= c.who
    if (c.op === '+') mode |= bits
    else if (c.op === '-') mode &= ~bits
    else mode = (mode & ~(c.who & 0o777)) | bits
  }
  return mode
}
