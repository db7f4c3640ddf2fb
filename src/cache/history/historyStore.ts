import { randomBytes } from 'node:crypto'
import { mkdir, open, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { TsbuildError } from '../../common/errors.js'
import { isProcessAlive } from '../../common/process.js'
import type { BuildRecord, StepRecord } from './types.js'

/** How many finished builds `prune` keeps by default. */
export const DEFAULT_HISTORY_KEEP = 50

/**
 * Step output the kept builds may hold in all: older builds go first once
 * it is passed (output is never clipped, so a few noisy builds could fill
 * the disk). The newest build is always kept, however large.
 */
export const DEFAULT_HISTORY_LOG_BYTES = 1024 ** 3

/** Bytes of step output a build recorded. */
export function logBytesOf (r: Pick<BuildRecord, 'steps'>): number {
  return r.steps.reduce((n, s) => n + s.logBytes, 0)
}

const ID = /^[a-z0-9]{8,64}$/
/** Bytes read at a time when a log is streamed out. */
const LOG_CHUNK = 256 * 1024

/**
 * Build records under `<stateDir>/history/<id>/`: `record.json` plus
 * `logs/<N>.log`, one complete log per step. Records are replaced atomically
 * (temp file + rename), so a reader never sees half a record. A build whose
 * process died (kill -9, a crash) cannot finish its record: readers see such
 * a `running` record as `interrupted` (see `settleOrphan`).
 */
export class HistoryStore {
  readonly dir: string

  constructor (stateDir: string) {
    this.dir = join(stateDir, 'history')
  }

  static newId (): string {
    return randomBytes(13).toString('hex').slice(0, 25)
  }

  recordDir (id: string): string {
    if (!ID.test(id)) throw new Error(`invalid build id ${JSON.stringify(id)}`)
    return join(this.dir, id)
  }

  logPath (id: string, step: number): string {
    return join(this.recordDir(id), 'logs', `${step}.log`)
  }

  /** Create the record's directory and write its first version. */
  async create (record: BuildRecord): Promise<void> {
    await mkdir(join(this.recordDir(record.id), 'logs'), { recursive: true })
    await this.save(record)
  }

  async save (record: BuildRecord): Promise<void> {
    const dir = this.recordDir(record.id)
    const tmp = join(dir, `.record-${randomBytes(6).toString('hex')}.json`)
    await writeFile(tmp, JSON.stringify(record, null, 2) + '\n')
    await rename(tmp, join(dir, 'record.json'))
  }

  /** Every readable record, newest first. */
  async list (): Promise<BuildRecord[]> {
    let names: string[]
    try {
      names = await readdir(this.dir)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw new TsbuildError('IO', `cannot read build history ${this.dir}: ${(err as Error).message}`, { cause: err })
    }
    const records = await Promise.all(names.filter((n) => ID.test(n)).map(async (n) => await this.read(n)))
    return records.filter((r): r is BuildRecord => r !== undefined)
      .sort((a, b) => compareDesc(a.createdAt, b.createdAt) || compareDesc(a.id, b.id))
  }

  private async read (id: string): Promise<BuildRecord | undefined> {
    try {
      return settleOrphan(JSON.parse(await readFile(join(this.recordDir(id), 'record.json'), 'utf8')) as BuildRecord)
    } catch {
      return undefined // a record being created, or one a crash left unreadable
    }
  }

  /**
   * Find one build: `^N` is the N-th newest (`^1` the latest), anything else
   * a unique prefix of a build id.
   */
  async resolve (ref: string): Promise<BuildRecord> {
    const all = await this.list()
    const nth = /^\^(\d+)$/.exec(ref)
    if (nth !== null) {
      const n = Number(nth[1])
      const found = n >= 1 ? all[n - 1] : undefined
      if (found === undefined) throw new TsbuildError('NOT_FOUND', `no build ${ref}: the history has ${all.length} build${all.length === 1 ? '' : 's'}`)
      return found
    }
    const matches = all.filter((r) => r.id.startsWith(ref))
    if (ref === '' || matches.length === 0) throw new TsbuildError('NOT_FOUND', `no build ${JSON.stringify(ref)} in the history`, { hint: 'list builds with tsbuild history ls' })
    if (matches.length > 1) {
      throw new TsbuildError('USAGE', `build id prefix ${JSON.stringify(ref)} is ambiguous: ${matches.map((m) => m.id).join(', ')}`)
    }
    return matches[0]!
  }

  /**
   * Find a step of a build: its `#N` number, or a prefix of its digest
   * (with or without `sha256:`).
   */
  static findStep (record: BuildRecord, ref: string): StepRecord {
    const byNumber = /^#?(\d+)$/.exec(ref)
    if (byNumber !== null) {
      const step = record.steps.find((s) => s.number === Number(byNumber[1]))
      if (step !== undefined) return step
    }
    const hex = ref.replace(/^sha256:/, '')
    const matches = hex.length >= 4 ? record.steps.filter((s) => s.digest?.replace(/^sha256:/, '').startsWith(hex)) : []
    if (matches.length === 1) return matches[0]!
    if (matches.length > 1) throw new TsbuildError('USAGE', `step ${JSON.stringify(ref)} is ambiguous in build ${record.id}: #${matches.map((m) => m.number).join(', #')}`)
    throw new TsbuildError('NOT_FOUND', `build ${record.id} has no step ${JSON.stringify(ref)}`, { hint: `steps are numbered #1 to #${record.steps.length}; see tsbuild history inspect ${record.id}` })
  }

  /** The step's complete output ('' when it printed nothing). */
  async readLog (id: string, step: number): Promise<Buffer> {
    try {
      return await readFile(this.logPath(id, step))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0)
      throw new TsbuildError('IO', `cannot read ${this.logPath(id, step)}: ${(err as Error).message}`, { cause: err })
    }
  }

  /**
   * The step's complete output as it is read from disk, in chunks (nothing
   * when it printed nothing): a step's log can be far larger than memory.
   */
  async * streamLog (id: string, step: number): AsyncGenerator<Buffer> {
    const path = this.logPath(id, step)
    const fail = (err: unknown): TsbuildError => new TsbuildError('IO', `cannot read ${path}: ${(err as Error).message}`, { cause: err })
    let file
    try {
      file = await open(path, 'r')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
      throw fail(err)
    }
    try {
      const buf = Buffer.allocUnsafe(LOG_CHUNK)
      for (;;) {
        const { bytesRead } = await file.read(buf, 0, LOG_CHUNK, null).catch((err: unknown) => { throw fail(err) })
        if (bytesRead === 0) return
        // A copy: the consumer may keep the chunk (a stream's queue) while the buffer is refilled.
        yield Buffer.from(buf.subarray(0, bytesRead))
      }
    } finally {
      await file.close()
    }
  }

  /**
   * Delete all but the newest `keep` builds, and older builds beyond
   * `maxLogBytes` of step output; returns the ids removed. A build still
   * running is never removed. `wroteLogBytes` (the output of the build that
   * just ended) lets a quiet build skip reading every record.
   */
  async prune (keep: number = DEFAULT_HISTORY_KEEP, opts: { maxLogBytes?: number; wroteLogBytes?: number } = {}): Promise<string[]> {
    const maxLogBytes = opts.maxLogBytes ?? DEFAULT_HISTORY_LOG_BYTES
    // Every build prunes: count the directories before reading any record, and
    // let a few extra accumulate so that a build does not read every record each time.
    const names = await readdir(this.dir).catch(() => [] as string[])
    const limit = keep + Math.ceil(keep / 5)
    const isTooMany = names.filter((n) => ID.test(n)).length > limit
    // While every build writes less than its share, the kept ones cannot pass the total.
    const mayBeTooLarge = (opts.wroteLogBytes ?? 0) > maxLogBytes / limit
    if (!isTooMany && !mayBeTooLarge) return []
    const old: BuildRecord[] = []
    let bytes = 0
    for (const [i, r] of (await this.list()).entries()) {
      bytes += logBytesOf(r)
      if (r.status !== 'running' && (i >= keep || (i > 0 && bytes > maxLogBytes))) old.push(r)
    }
    for (const r of old) await rm(this.recordDir(r.id), { recursive: true, force: true })
    return old.map((r) => r.id)
  }
}

/**
 * A record still `running` whose process is gone will never be finished by
 * it: report it as interrupted, its unfinished steps as cancelled. Only the
 * reading is changed (the file stays as the build left it), so a reader
 * never races a live build's own writes.
 */
export function settleOrphan (r: BuildRecord, isAlive: (pid: number) => boolean = isProcessAlive): BuildRecord {
  if (r.status !== 'running' || r.pid === undefined || isAlive(r.pid)) return r
  return {
    ...r,
    status: 'interrupted',
    error: r.error ?? `the build's process (pid ${r.pid}) ended before the build finished`,
    steps: r.steps.map((s) => s.status === 'running' ? { ...s, status: 'cancelled' } : s),
  }
}

// ISO timestamps and ids order correctly by code unit; localeCompare would load ICU collation.
const compareDesc = (a: string, b: string): number => a < b ? 1 : a > b ? -1 : 0
