import { readFileSync } from 'node:fs'
import { relative, resolve } from 'node:path'
import { resolveStateDir } from '../cache/stateDir.js'
import { DockerfileError, findTsbuildError, TsbuildError } from '../common/errors.js'
import { shortenForDisplay } from '../common/shorten.js'
import type { SourceRange } from '../common/errors.js'
import type { CommandIo } from './io.js'

interface Located {
  file?: string
  ranges: readonly SourceRange[]
  text?: string
  /** The error is about a place in the file (print line:column and a caret), not a whole step. */
  isPosition?: boolean
}

/** What the caller knows that an error may not carry: the Dockerfile's text for a located error. */
export interface ReportContext {
  dockerfileText?: string
}

/**
 * Print an error as a user sees it and return the exit code: 1 for a failed
 * build or a user mistake, 2 for bad usage, 130 when cancelled, 70 for a bug
 * (the only case with a stack trace).
 *
 * A one-line error is one `ERROR:` line. A failed step or a Dockerfile error
 * is printed as BuildKit does, ending with the `ERROR:` line so a terminal
 * shows it last: the step's last output lines between `------` rules, then
 * the Dockerfile lines with a `>>>` marker (and a caret for one position).
 */
export function reportError (err: unknown, io: CommandIo, ctx: ReportContext = {}): number {
  const found = findTsbuildError(err)
  const noSpace = findNoSpace(err)
  if (found === undefined && noSpace === undefined) {
    io.stderr.write(`tsbuild: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    return 70
  }
  const t = found ?? new TsbuildError('IO', String(noSpace), { cause: noSpace })
  const { message, hint } = noSpace === undefined ? t : explainNoSpace(noSpace, found, io)
  const [first = '', ...rest] = message.split('\n')
  const loc = locate(t, io, ctx)
  const output = outputTail(t)
  if (loc === undefined && output === undefined) {
    io.stderr.write(`ERROR: ${message}\n`)
  } else {
    let text = ''
    if (output !== undefined) {
      const step = first.endsWith(`: ${output.firstLine}`) ? first.slice(0, -(output.firstLine.length + 2)) : first
      text += `------\n > ${step}:\n${output.lines.map((l) => `${l}\n`).join('')}------\n`
    }
    if (loc !== undefined) text += formatSource(loc)
    text += `ERROR: ${first}\n`
    if (output === undefined) for (const l of rest) text += `${l}\n`
    io.stderr.write(text)
  }
  if (hint !== undefined) io.stderr.write(`hint: ${hint}\n`)
  if (t.code === 'CANCELLED') return 130
  return t.code === 'USAGE' ? 2 : 1
}

type ErrnoError = Error & { code: string; path?: string; syscall?: string }

/** A full disk or quota (ENOSPC, EDQUOT) from a system call, anywhere in the cause chain. */
function findNoSpace (err: unknown): ErrnoError | undefined {
  for (let e: unknown = err, depth = 0; e != null && depth < 32; depth++) {
    const code = (e as { code?: unknown }).code
    if (e instanceof Error && (code === 'ENOSPC' || code === 'EDQUOT') && !(e instanceof TsbuildError)) return e as ErrnoError
    e = (e as { cause?: unknown }).cause
  }
  return undefined
}

/**
 * A full disk is the user's to fix, not a bug: say which device is full, by
 * the path Node names or else the state dir (every write without a path of
 * its own goes there; outputs and other places name theirs). A TsbuildError
 * that already explains it stays as it is; one that only passed the system
 * message on (a step wrapping whatever failed in it) gets the explanation in
 * its place, keeping the step name and its Dockerfile lines.
 */
function explainNoSpace (errno: ErrnoError, wrapper: TsbuildError | undefined, io: CommandIo): { message: string; hint?: string } {
  if (wrapper !== undefined && !wrapper.message.includes(errno.message)) return wrapper
  const root = resolve(io.cwd, resolveStateDir(io.env))
  const path = errno.path !== undefined ? resolve(io.cwd, errno.path) : undefined
  const inStateDir = path === undefined || path === root || !relative(root, path).startsWith('..')
  const where = inStateDir ? `the state dir ${root}` : path
  const what = errno.code === 'ENOSPC' ? 'no space left' : 'disk quota exceeded'
  const writing = path !== undefined && path !== root ? ` (${errno.syscall ?? 'writing'} ${path})` : ''
  const explained = `${what} on the device holding ${where!} (${errno.code})${writing}`
  const hint = wrapper?.hint ?? (inStateDir
    ? 'free space on that device (tsbuild prune removes build cache) or set TSBUILD_ROOT to a larger one'
    : 'free space on that device or choose another destination')
  if (wrapper === undefined) return { message: explained, hint }
  return { message: wrapper.message.replace(`Error: ${errno.message}`, explained).replace(errno.message, explained), hint }
}

/** The last output lines a failed process left (carried by the executor's error in the cause chain). */
function outputTail (err: Error): { lines: readonly string[]; firstLine: string } | undefined {
  for (let e: unknown = err, depth = 0; e != null && depth < 32; depth++) {
    const lines = (e as { lastLines?: unknown }).lastLines
    if (Array.isArray(lines) && lines.length > 0) return { lines: lines as string[], firstLine: (e as Error).message.split('\n')[0] ?? '' }
    e = (e as { cause?: unknown }).cause
  }
  return undefined
}

function locate (t: Error, io: CommandIo, ctx: ReportContext): Located | undefined {
  if (t instanceof DockerfileError) return { file: t.file, ranges: t.ranges, isPosition: true, ...(ctx.dockerfileText !== undefined ? { text: ctx.dockerfileText } : readText(t.file, io)) }
  const step = t as Error & { locations?: ReadonlyArray<{ file: string; ranges: readonly SourceRange[] }>; dockerfile?: string }
  const first = step.locations?.[0]
  const text = step.dockerfile ?? ctx.dockerfileText
  if (first !== undefined) return { file: first.file, ranges: first.ranges, ...(text !== undefined ? { text } : {}) }
  return undefined
}

function readText (file: string, io: CommandIo): { text?: string } {
  if (file === '-' || file === '') return {}
  try { return { text: readFileSync(resolve(io.cwd, file), 'utf8') } } catch { return {} }
}

/**
 * `FILE:LINE[:COL]`, then the range's lines with two lines of context, line
 * numbers and a `>>>` marker; a range on one line also gets a caret under
 * the columns it covers (BuildKit's Source.Print, plus the caret).
 */
export function formatSource (loc: Located): string {
  const r = loc.ranges[0]
  if (r === undefined) return ''
  const column = r.start.character > 0 || loc.isPosition === true ? `:${r.start.character + 1}` : ''
  let out = `${loc.file ?? 'Dockerfile'}:${r.start.line}${column}\n`
  if (loc.text === undefined) return out
  const lines = loc.text.split(/\r?\n/)
  if (lines.at(-1) === '') lines.pop()
  const last = Math.max(r.end.line, r.start.line)
  const from = Math.max(1, r.start.line - 2)
  const to = Math.min(lines.length, last + 1)
  const width = String(to).length
  out += '--------------------\n'
  for (let n = from; n <= to; n++) {
    const inRange = n >= r.start.line && n <= last
    const line = lines[n - 1] ?? ''
    out += ` ${String(n).padStart(width)} | ${inRange ? '>>>' : '   '} ${shortenForDisplay(line)}\n`.replace(/ +\n$/, '\n')
    if (inRange && n === r.start.line) {
      // Underline part of a line; for a whole line, a caret at its start only when the error is about a position in it.
      const isPartial = r.start.line === r.end.line && (r.start.character > 0 || (r.end.character > 0 && r.end.character < line.trimEnd().length))
      const span = isPartial ? Math.max(1, Math.min(r.end.character, line.length) - r.start.character) : 1
      if (isPartial || loc.isPosition === true) out += ` ${' '.repeat(width)} |     ${' '.repeat(r.start.character)}${'^'.repeat(span)}\n`
    }
  }
  out += '--------------------\n'
  return out
}
