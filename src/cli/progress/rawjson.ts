import type { SolveEvent, WarningEvent } from '../../solver/events.js'

/**
 * One SolveEvent as one JSON line (docs/progress.md, docs/progress.schema.json).
 * Log data is base64, as in BuildKit's rawjson, because output is bytes and
 * need not be UTF-8.
 */
export function encodeRawJson (e: SolveEvent): string {
  if (e.type === 'log') return JSON.stringify({ ...e, data: Buffer.from(e.data).toString('base64') })
  if (e.type === 'warning') return JSON.stringify(warningFields(e))
  return JSON.stringify(e)
}

/** Exactly the schema's fields: ranges built elsewhere may carry more than line and character. */
function warningFields (e: WarningEvent): WarningEvent {
  const { source } = e
  return {
    type: 'warning', message: e.message,
    ...(e.digest !== undefined ? { digest: e.digest } : {}),
    time: e.time,
    ...(e.rule !== undefined ? { rule: e.rule } : {}),
    ...(e.detail !== undefined ? { detail: e.detail } : {}),
    ...(e.url !== undefined ? { url: e.url } : {}),
    ...(source !== undefined
      ? { source: { file: source.file, ranges: source.ranges.map(r => ({ start: { line: r.start.line, character: r.start.character }, end: { line: r.end.line, character: r.end.character } })) } }
      : {}),
  }
}
