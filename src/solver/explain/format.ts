import type { StepExplanation } from './explainer.js'

const MAX_VALUE = 100

/** The `--explain` report: every step, hit or miss and why, with old and new values. */
export function formatExplanations (steps: readonly StepExplanation[], previousBuildTime: string | undefined): string {
  const lines: string[] = [previousBuildTime === undefined
    ? 'cache explanation: no earlier build of this Dockerfile and target'
    : `cache explanation: compared with the build of ${previousBuildTime}`]
  for (const s of steps) {
    lines.push(`${s.status === 'cached' ? 'HIT ' : 'MISS'} ${s.name}${s.reason !== undefined ? `: ${s.reason}` : ''}`)
    for (const c of s.changes.slice(0, 20)) {
      const values = c.old !== undefined || c.new !== undefined ? `: ${clip(c.old ?? '(none)')} → ${clip(c.new ?? '(none)')}` : ''
      lines.push(`       ${c.what}${values}`)
    }
    if (s.changes.length > 20) lines.push(`       (+${s.changes.length - 20} more changes)`)
  }
  return lines.join('\n') + '\n'
}

function clip (v: string): string {
  const one = v.replace(/\n/g, '\\n')
  return one.length > MAX_VALUE ? `${one.slice(0, MAX_VALUE)}…` : one
}
