import type { CheckFinding } from './types.js'

/** `JSONArgsRecommended: JSON arguments recommended for CMD … (line 5)`. */
export function formatFinding (f: CheckFinding): string {
  const line = f.range?.start.line ?? 0
  return `${f.rule}: ${f.message}${line > 0 ? ` (line ${line})` : ''}`
}

/** The summary after a build: a count, then one line per finding. */
export function formatFindingsSummary (findings: readonly CheckFinding[]): string {
  if (findings.length === 0) return ''
  const n = findings.length
  return `${n} ${n === 1 ? 'warning' : 'warnings'} found (use --check for the source lines):\n` + findings.map(f => ` - ${formatFinding(f)}\n`).join('')
}

/** The error a build with `error=true` fails with. */
export function violatedRules (findings: readonly CheckFinding[]): string {
  return [...new Set(findings.map(f => f.rule))].join(', ')
}
