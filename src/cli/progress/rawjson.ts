import type { SolveEvent } from '../../solver/events.js'

/**
 * One SolveEvent as one JSON line (docs/progress.md, docs/progress.schema.json).
 * Log data is base64, as in BuildKit's rawjson, because output is bytes and
 * need not be UTF-8.
 */
export function encodeRawJson (e: SolveEvent): string {
  return JSON.stringify(e.type === 'log' ? { ...e, data: Buffer.from(e.data).toString('base64') } : e)
}
