import type { SolveEvent, WarningEvent } from '../../solver/events.js'

/**
 * One SolveEvent as one JSON line (docs/progress.md, docs/progress.schema.json).
 * Log data is base64, as in BuildKit's rawjson, because output is bytes and
 * need not be UTF-8.
 */
export function encodeRawJson (e: SolveEvent): string {
  if (e.type === 'log') {
    const { backpressure: _, ...fields } = e
    return JSON.stringify({ ...fields, data: Buffer.from(e.data).toString('base64') })
  }
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

/** What a successful build produced, as far as rawjson reports it. */
export interface RawJsonResult {
  stored: readonly string[]
  pushed: readonly string[]
  descriptor?: { mediaType: string; digest: string }
}

/**
 * The lines plain progress prints after a build (`naming to NAME done`,
 * `pushed NAME`, `manifest|index DIGEST`, or the no-output warning) as
 * rawjson events: finished `progress` items named as those lines, and a
 * `warning`, so that in rawjson mode nothing but events reaches stderr.
 */
export function resultEvents (result: RawJsonResult | undefined, time: number): SolveEvent[] {
  if (result === undefined) {
    return [{ type: 'warning', message: 'No output specified: the result stays in the build cache only (use -t NAME, -o or --push)', time }]
  }
  const done = (id: string, name: string): SolveEvent => ({ type: 'progress', id, name, current: 1, total: 1, done: true, time })
  const root = result.descriptor
  return [
    ...result.stored.map((n) => done(`naming-${n}`, `naming to ${n}`)),
    ...result.pushed.map((n) => done(`pushed-${n}`, `pushed ${n}`)),
    ...(root !== undefined ? [done('result', `${/index|list/.test(root.mediaType) ? 'index' : 'manifest'} ${root.digest}`)] : []),
  ]
}
