import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { DockerfileError, findTsbuildError } from '../common/errors.js'
import type { SourceRange } from '../common/errors.js'
import type { CommandIo } from './io.js'

interface Located { file?: string; ranges: readonly SourceRange[]; text?: string }

/**
 * Print an error as a user sees it and return the exit code: 1 for a failed
 * build or a user mistake, 2 for bad usage, 130 when cancelled, 70 for a bug
 * (the only case with a stack trace).
 */
export function reportError (err: unknown, io: CommandIo): number {
  const t = findTsbuildError(err)
  if (t === undefined) {
    io.stderr.write(`tsbuild: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    return 70
  }
  io.stderr.write(`ERROR: ${t.message}\n`)
  const loc = locate(t, io)
  if (loc !== undefined) io.stderr.write(formatSource(loc))
  if (t.hint !== undefined) io.stderr.write(`hint: ${t.hint}\n`)
  if (t.code === 'CANCELLED') return 130
  return t.code === 'USAGE' ? 2 : 1
}

function locate (t: Error, io: CommandIo): Located | undefined {
  if (t instanceof DockerfileError) return { file: t.file, ranges: t.ranges, ...readText(t.file, io) }
  const step = t as Error & { locations?: ReadonlyArray<{ file: string; ranges: readonly SourceRange[] }>; dockerfile?: string }
  const first = step.locations?.[0]
  if (first !== undefined) return { file: first.file, ranges: first.ranges, ...(step.dockerfile !== undefined ? { text: step.dockerfile } : {}) }
  return undefined
}

function readText (file: string, io: CommandIo): { text?: string } {
  if (file === '-' || file === '') return {}
  try { return { text: readFileSync(resolve(io.cwd, file), 'utf8') } } catch { return {} }
}

/** The lines of a range with numbers, a `>>>` marker and, for a single position, a caret (BuildKit's Source.Print). */
export function formatSource (loc: Located): string {
  const r = loc.ranges[0]
  if (r === undefined) return ''
  let out = ` --> ${loc.file ?? 'Dockerfile'}:${r.start.line}${r.start.character > 0 ? `:${r.start.character + 1}` : ''}\n`
  if (loc.text === undefined) return out
  const lines = loc.text.split(/\r?\n/)
  const from = Math.max(1, r.start.line - 2)
  const to = Math.min(lines.length, Math.max(r.end.line, r.start.line) + 1)
  const width = String(to).length
  out += '--------------------\n'
  for (let n = from; n <= to; n++) {
    const inRange = n >= r.start.line && n <= Math.max(r.end.line, r.start.line)
    out += ` ${inRange ? '>>>' : '   '} ${String(n).padStart(width)} | ${lines[n - 1] ?? ''}\n`
    if (inRange && r.start.line === r.end.line && r.start.character > 0 && n === r.start.line) {
      out += `     ${' '.repeat(width)} | ${' '.repeat(r.start.character)}^\n`
    }
  }
  out += '--------------------\n'
  return out
}
