import type { SolveEvent } from '../../solver/events.js'
import { formatSource } from '../report.js'

/**
 * Check findings as `--check` prints them: `WARNING: Rule: message (line N)`
 * and the Dockerfile lines it points at. A build that `check=error=true`
 * stops prints these before its error, so the user sees what to fix.
 */
export function formatFindingEvents (findings: readonly SolveEvent[], dockerfileText: string | undefined): string {
  let out = ''
  for (const f of findings) {
    if (f.type !== 'warning') continue
    out += `WARNING: ${f.message}\n`
    if (f.source !== undefined) out += formatSource({ file: f.source.file, ranges: f.source.ranges, ...(dockerfileText !== undefined ? { text: dockerfileText } : {}) })
  }
  return out
}
