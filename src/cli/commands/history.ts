import type { Writable } from 'node:stream'
import { HistoryStore, type BuildRecord, type StepRecord } from '../../cache/history/index.js'
import { TsbuildError } from '../../common/errors.js'
import { parseArgs, type FlagSpec } from '../flags/parseArgs.js'
import type { CommandIo } from '../io.js'
import { shortenForDisplay } from '../../common/shorten.js'
import { NAME_CHARS, whenDrained } from '../progress/index.js'
import { stateDirFor } from '../stateDir.js'

const USAGE = `Usage: tsbuild history COMMAND

Commands:
  ls                     List recent builds (--format json for the records)
  inspect BUILD          Show a build's request, result and steps (--format json for the record)
  logs BUILD [STEP]      Print the complete output of a build's steps, or of one step

BUILD is a build id, a unique prefix of one, or ^N (^1 is the latest build).
STEP is the number plain progress printed (#N) or a prefix of the step's digest.
`

const FLAGS: readonly FlagSpec[] = [
  { long: 'format', kind: 'string' },
  { long: 'help', short: 'h', kind: 'bool' },
]

export async function run (args: string[], io: CommandIo): Promise<number> {
  const [sub, ...rest] = args
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    io.stdout.write(USAGE)
    return sub === undefined ? 2 : 0
  }
  const parsed = parseArgs(rest, FLAGS, `history ${sub}`)
  if (parsed.values.get('help') === true) { io.stdout.write(USAGE); return 0 }
  const format = (parsed.values.get('format') as string | undefined) ?? 'table'
  if (format !== 'table' && format !== 'json') throw new TsbuildError('USAGE', `--format must be table or json, not ${JSON.stringify(format)}`)
  const store = new HistoryStore(stateDirFor(io))
  const [buildRef, stepRef] = parsed.positionals
  const want = (max: number, need: number): void => {
    const n = parsed.positionals.length
    if (n < need || n > max) throw new TsbuildError('USAGE', `"tsbuild history ${sub}" takes ${need === max ? need : `${need} to ${max}`} argument${max === 1 ? '' : 's'}, got ${n}`, { hint: 'see tsbuild history --help' })
  }
  switch (sub) {
    case 'ls': {
      want(0, 0)
      const all = await store.list()
      io.stdout.write(format === 'json' ? JSON.stringify(all.map(summary), null, 2) + '\n' : formatList(all, Date.now()))
      return 0
    }
    case 'inspect': {
      want(1, 1)
      const r = await store.resolve(buildRef!)
      io.stdout.write(format === 'json' ? JSON.stringify(r, null, 2) + '\n' : formatInspect(r))
      return 0
    }
    case 'logs': {
      want(2, 1)
      const r = await store.resolve(buildRef!)
      const steps = stepRef !== undefined ? [HistoryStore.findStep(r, stepRef)] : r.steps
      const aborted = whenAborted(io.signal)
      for (const s of steps) {
        if (stepRef !== undefined) { await copyOut(store.streamLog(r.id, s.number), io.stdout, aborted); continue }
        // All steps: a header per step, as plain progress shows them.
        io.stdout.write(`#${s.number} ${shortenForDisplay(s.name, NAME_CHARS)}\n`)
        const last = await copyOut(store.streamLog(r.id, s.number), io.stdout, aborted)
        if (last !== undefined && last !== 0x0a) io.stdout.write('\n')
        io.stdout.write(`#${s.number} ${stepOutcome(s)}\n\n`)
        if (io.stdout.destroyed) break
      }
      return 0
    }
    default:
      throw new TsbuildError('USAGE', `unknown history command ${JSON.stringify(sub)}`, { hint: 'use ls, inspect or logs' })
  }
}

/** Settles when `signal` aborts (never without one); `aborted` tells whether it has. */
function whenAborted (signal: AbortSignal | undefined): { promise: Promise<void>; readonly aborted: boolean } {
  const promise = signal === undefined ? new Promise<void>(() => {}) : new Promise<void>((resolve) => { signal.addEventListener('abort', () => { resolve() }, { once: true }) })
  return { promise, get aborted () { return signal?.aborted === true } }
}

/**
 * Writes every chunk to `out`, waiting whenever `out` is full, so a log larger
 * than memory streams through a slow reader. Stops early when `out` is gone (a
 * closed pipe), and on Ctrl-C even while the reader is not reading. Returns
 * the last byte written (undefined when there was none).
 */
async function copyOut (chunks: AsyncIterable<Buffer>, out: Writable, interrupt: ReturnType<typeof whenAborted>): Promise<number | undefined> {
  let last: number | undefined
  const interrupted = (): never => { throw new TsbuildError('CANCELLED', 'interrupted') }
  for await (const chunk of chunks) {
    if (interrupt.aborted) interrupted()
    if (out.destroyed) break
    if (chunk.length === 0) continue
    last = chunk[chunk.length - 1]
    if (!out.write(chunk)) await Promise.race([whenDrained(out), interrupt.promise])
  }
  if (interrupt.aborted) interrupted()
  return last
}

function summary (r: BuildRecord): Record<string, unknown> {
  const steps = buildSteps(r)
  return { id: r.id, name: r.name, status: r.status, createdAt: r.createdAt, durationMs: r.durationMs, steps: steps.length, cachedSteps: steps.filter((s) => s.cached).length }
}

/** The build's steps (graph vertices), as --metadata-file counts them: not pulls, pushes or exports. */
function buildSteps (r: BuildRecord): BuildRecord['steps'] {
  return r.steps.filter((s) => s.digest !== undefined)
}

export function formatList (records: readonly BuildRecord[], now: number): string {
  const rows = [['BUILD ID', 'NAME', 'STATUS', 'CREATED', 'DURATION', 'STEPS']]
  for (const r of records) {
    const steps = buildSteps(r)
    const cached = steps.filter((s) => s.cached).length
    rows.push([r.id, r.name, r.status.toUpperCase(), `${ago(now - Date.parse(r.createdAt))} ago`,
      r.durationMs !== undefined ? seconds(r.durationMs) : '-', `${steps.length}${cached > 0 ? ` (${cached} cached)` : ''}`])
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)))
  return rows.map((row) => row.map((c, i) => i === row.length - 1 ? c : c.padEnd(widths[i]! + 3)).join('')).join('\n') + '\n'
}

export function formatInspect (r: BuildRecord): string {
  const q = r.request
  const lines = [
    ['ID', r.id], ['Name', r.name], ['Status', r.status.toUpperCase()],
    ['Context', q.context], ['Dockerfile', q.dockerfile], ...(q.target !== undefined ? [['Target', q.target]] : []),
    ...(q.platforms.length > 0 ? [['Platforms', q.platforms.join(', ')]] : []),
    ...(q.tags.length > 0 ? [['Tags', q.tags.join(', ')]] : []),
    ...(q.outputs.length > 0 ? [['Outputs', q.outputs.join(' ')]] : []),
    ...(Object.keys(q.buildArgs).length > 0 ? [['Build args', Object.entries(q.buildArgs).map(([k, v]) => `${k}=${v}`).join(' ')]] : []),
    ...(q.labels !== undefined ? [['Labels', Object.entries(q.labels).map(([k, v]) => `${k}=${v}`).join(' ')]] : []),
    ...(q.secretIds.length > 0 ? [['Secrets', q.secretIds.join(', ')]] : []),
    ...(q.sshIds.length > 0 ? [['SSH', q.sshIds.join(', ')]] : []),
    ...(q.noCache ? [['No cache', 'true']] : q.noCacheFilter !== undefined ? [['No cache', q.noCacheFilter.join(', ')]] : []),
    ...(q.network !== undefined ? [['Network', q.network]] : []),
    ...(q.addHosts !== undefined ? [['Add hosts', q.addHosts.join(' ')]] : []),
    ...(q.shmSize !== undefined ? [['Shm size', String(q.shmSize)]] : []),
    ...(q.ulimits !== undefined ? [['Ulimits', q.ulimits.join(' ')]] : []),
    ['Created', r.createdAt], ...(r.completedAt !== undefined ? [['Completed', r.completedAt]] : []),
    ...(r.durationMs !== undefined ? [['Duration', seconds(r.durationMs)]] : []),
    ...(r.result?.digest !== undefined ? [['Digest', r.result.digest]] : []),
    ...(r.result !== undefined && r.result.names.length > 0 ? [['Names', r.result.names.join(', ')]] : []),
    ...(r.error !== undefined ? [['Error', r.error.split('\n')[0]!]] : []),
  ]
  const w = Math.max(...lines.map((l) => l[0]!.length)) + 2
  let out = lines.map(([k, v]) => `${`${k}:`.padEnd(w)}${v}`).join('\n') + '\n'
  for (const warning of r.warnings) out += `Warning: ${warning}\n`
  out += '\nSTEP  STATUS     TIME    NAME\n'
  for (const s of r.steps) {
    out += `#${String(s.number).padEnd(4)} ${s.status.toUpperCase().padEnd(10)} ${(s.durationMs !== undefined && !s.cached ? seconds(s.durationMs) : '').padEnd(7)} ${s.name}\n`
    if (s.missReason !== undefined) out += `${' '.repeat(24)}(ran: ${s.missReason})\n`
  }
  return out
}

function stepOutcome (s: StepRecord): string {
  if (s.cached) return 'CACHED'
  if (s.status === 'error') return `ERROR: ${(s.error ?? 'failed').split('\n')[0]}`
  if (s.status === 'cancelled') return 'CANCELED'
  return `DONE ${seconds(s.durationMs ?? 0)}`
}

function seconds (ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`
}

function ago (ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s} second${s === 1 ? '' : 's'}`
  const m = Math.round(s / 60)
  if (m < 60) return `${m} minute${m === 1 ? '' : 's'}`
  const h = Math.round(m / 60)
  if (h < 48) return `${h} hour${h === 1 ? '' : 's'}`
  return `${Math.round(h / 24)} days`
}
