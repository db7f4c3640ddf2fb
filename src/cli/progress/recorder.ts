import { createWriteStream, type WriteStream } from 'node:fs'
import { findTsbuildError } from '../../common/errors.js'
import { DEFAULT_HISTORY_KEEP, HistoryStore, logBytesOf } from '../../cache/history/index.js'
import type { BuildRecord, BuildResultSummary, RequestSummary, StepRecord } from '../../cache/history/index.js'
import type { SolveEvent } from '../../solver/events.js'
import { whenDrained } from './backpressure.js'
import { StepNumbers, stepKey } from './stepNumbers.js'
import { CachedStepOrder } from './stepOrder.js'

/**
 * Keeps one build in the history while it runs: steps as they start and end,
 * and every byte of their output in per-step log files (the live views clip;
 * this never does). `finish` closes the logs, writes the final record and
 * prunes old builds; it never throws for a history problem, since losing
 * history must not fail a build.
 */
export class HistoryRecorder {
  private readonly numbers = new StepNumbers()
  private readonly steps = new Map<string, StepRecord>()
  private readonly logs = new Map<number, WriteStream>()
  private readonly started: number
  /** Saves run one after another; a build killed mid-way keeps the steps of its last save. */
  private saving: Promise<void> = Promise.resolve()
  private saveTimer: NodeJS.Timeout | undefined
  private finished = false
  /** The same order plain progress prints in, so `history logs BUILD N` is the `#N` the user saw. */
  private readonly ordered = new CachedStepOrder((e) => { this.apply(e) })

  private constructor (private readonly store: HistoryStore, private readonly record: BuildRecord) {
    this.started = Date.parse(record.createdAt)
  }

  static async start (store: HistoryStore, opts: { name: string; request: RequestSummary; now?: number }): Promise<HistoryRecorder> {
    const record: BuildRecord = {
      id: HistoryStore.newId(),
      name: opts.name,
      request: opts.request,
      createdAt: new Date(opts.now ?? Date.now()).toISOString(),
      status: 'running',
      pid: process.pid,
      steps: [],
      warnings: [],
    }
    await store.create(record)
    return new HistoryRecorder(store, record)
  }

  get id (): string { return this.record.id }

  /** Steps in `#N` order (a snapshot; the metadata file and tests read it). */
  stepRecords (): StepRecord[] {
    this.ordered.flush()
    return [...this.steps.values()].sort((a, b) => a.number - b.number)
  }

  handle (e: SolveEvent): void {
    this.ordered.handle(e)
  }

  private apply (e: SolveEvent): void {
    const key = stepKey(e)
    if (key === undefined) {
      if (e.type === 'warning') this.record.warnings.push(e.message)
      return
    }
    const step = this.step(key, e)
    switch (e.type) {
      case 'vertex':
        step.name = e.name
        if (e.status === 'started') {
          step.status = 'running'
          step.startedAt = iso(e.time)
          if (e.missReason !== undefined) step.missReason = e.missReason
        } else {
          step.status = e.status
          step.cached = e.status === 'cached'
          step.completedAt = iso(e.time)
          if (step.startedAt !== undefined) step.durationMs = e.time - Date.parse(step.startedAt)
          if (e.error !== undefined) step.error = e.error
          this.saveSoon()
        }
        break
      case 'log': {
        step.logBytes += e.data.byteLength
        let out = this.logs.get(step.number)
        if (out === undefined) {
          out = createWriteStream(this.store.logPath(this.record.id, step.number), { flags: 'a' })
          out.on('error', () => {}) // a full disk loses history, not the build
          this.logs.set(step.number, out)
        }
        // A log file on a slow disk pauses the step like a slow terminal does.
        if (!out.write(e.data)) e.backpressure?.wait(whenDrained(out))
        break
      }
      case 'progress':
        step.name = e.name
        step.startedAt ??= iso(e.time)
        if (e.done === true) {
          step.status = 'completed'
          step.completedAt = iso(e.time)
          step.durationMs = e.time - Date.parse(step.startedAt)
        }
        break
    }
  }

  /** Write the steps so far within a second (at most once a second), so an interrupted build still shows them. */
  private saveSoon (): void {
    if (this.saveTimer !== undefined || this.finished) return
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined
      if (this.finished) return
      const snapshot = { ...this.record, steps: this.stepRecords().map((s) => ({ ...s })) }
      this.saving = this.saving.then(async () => { await this.store.save(snapshot) }).catch(() => {})
    }, 1000)
    this.saveTimer.unref()
  }

  private step (key: string, e: SolveEvent): StepRecord {
    let s = this.steps.get(key)
    if (s === undefined) {
      s = { number: this.numbers.of(key), name: '', status: 'running', cached: false, logBytes: 0 }
      if (e.type !== 'progress' || e.digest !== undefined) s.digest = key
      this.steps.set(key, s)
    }
    return s
  }

  /** End the record: `error` undefined means the build succeeded. */
  async finish (opts: { error?: unknown; result?: BuildResultSummary; now?: number } = {}): Promise<BuildRecord> {
    this.ordered.flush()
    this.finished = true
    if (this.saveTimer !== undefined) clearTimeout(this.saveTimer)
    await this.saving
    await Promise.all([...this.logs.values()].map(async (s) => await new Promise<void>((resolve) => s.end(resolve))))
    const now = opts.now ?? Date.now()
    const r = this.record
    r.completedAt = iso(now)
    r.durationMs = now - this.started
    r.steps = this.stepRecords()
    if (opts.error === undefined) {
      r.status = 'completed'
    } else {
      const t = findTsbuildError(opts.error)
      r.status = t?.code === 'CANCELLED' ? 'cancelled' : 'failed'
      r.error = (t ?? (opts.error instanceof Error ? opts.error : undefined))?.message ?? String(opts.error)
    }
    for (const s of r.steps) if (s.status === 'running') s.status = r.status === 'completed' ? 'completed' : 'cancelled'
    if (opts.result !== undefined) r.result = opts.result
    try {
      await this.store.save(r)
      await this.store.prune(DEFAULT_HISTORY_KEEP, { wroteLogBytes: logBytesOf(r) })
    } catch {
      // See the class comment: history is best effort.
    }
    return r
  }
}

function iso (ms: number): string {
  return new Date(ms).toISOString()
}
