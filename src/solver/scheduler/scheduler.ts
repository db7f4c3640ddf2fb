import { setMaxListeners } from 'node:events'
import { availableParallelism } from 'node:os'
import { canonicalJson, sha256, type Digest } from '../../common/digest.js'
import { TsbuildError, findTsbuildError } from '../../common/errors.js'
import type { CacheKey, RecordStore } from '../../cache/records/index.js'
import type { EventSink } from '../events.js'
import { Semaphore, cancelled } from './semaphore.js'
import type { CacheDep, KeyFacts, OpContext, Result, SolvedVertex, SolverVertex } from './types.js'

export interface SchedulerOptions {
  records: RecordStore
  emit: EventSink
  /** Concurrent exec ops (default: twice the CPUs). I/O ops get four times as many. */
  maxParallelism?: number
  signal?: AbortSignal
  /** An imported cache (--cache-from), asked on a local miss; a hit's layers are fetched only when read. */
  remote?: { lookup (key: CacheKey): Promise<{ layers: string[]; ensure: () => Promise<void> } | undefined> }
  /** Told of every solved vertex, run or cached (streams the cache export). */
  onSolved?: (v: SolverVertex, solved: SolvedVertex) => void
  /**
   * Also tell `onSolved` of the steps that sat below a cache hit and never
   * ran, loaded from their local records (a cache export wants every step).
   */
  isSkippedSolved?: boolean
  /** Told what each vertex's cache key was made of (cache-miss explanations). */
  onKey?: (v: SolverVertex, facts: KeyFacts) => void
  /** Why a vertex about to run missed the cache; undefined keeps the generic reason. */
  explainMiss?: (v: SolverVertex, ctx: { parentRan: boolean; isForcedByParent: boolean }) => string | undefined
  /**
   * Hold a lock on a cache key while `fn` runs a step that missed the cache,
   * shared with other processes on the same state dir. `onWait` is called
   * once when another holder makes this one wait (with its pid when known).
   */
  exclusive?: <T>(key: CacheKey, fn: () => Promise<T>, onWait: (holderPid: number | undefined) => void, signal: AbortSignal) => Promise<T>
}

/**
 * Owns the state of one solve. Every vertex is keyed by its digest, so an
 * identical vertex reached from several stages or platforms is computed once
 * (the memo maps play the part of BuildKit's flightcontrol).
 *
 * Two phases per vertex, as in BuildKit: the cache key needs only the inputs'
 * keys (plus content checksums where an op reads files), and a vertex whose
 * key has a record is never executed, nor are its inputs solved for it
 * (unless it is forced to run: see isForced).
 */
export class Scheduler {
  private readonly keys = new Map<Digest, Promise<CacheKey>>()
  private readonly keyed = new Map<Digest, SolverVertex>()
  private readonly results = new Map<Digest, Promise<SolvedVertex>>()
  private readonly reportedCached = new Set<Digest>()
  private readonly forced = new Map<Digest, boolean>()
  /** What each key was computed from, to derive keys by content from. */
  private readonly keyFacts = new Map<Digest, Pick<KeyFacts, 'op' | 'deps'> & { contentOnceSolved: ReadonlyArray<CacheDep['contentOnceSolved']> }>()
  private readonly inFlight = new Set<Promise<unknown>>()
  private readonly abort = new AbortController()
  private readonly execSlots: Semaphore
  private readonly ioSlots: Semaphore
  private firstError: unknown

  constructor (private readonly opts: SchedulerOptions) {
    // Two exec slots per CPU by default: build steps spend much of their time
    // waiting (network, disk, sleep), so one per CPU leaves cores idle, e.g.
    // three independent stages on two cores would run as 2 + 1.
    const n = opts.maxParallelism ?? availableParallelism() * 2
    this.execSlots = new Semaphore(n)
    this.ioSlots = new Semaphore(Math.max(4, n * 4))
    // Every step waiting for a slot, and every running one, listens on this
    // signal (and stops listening when done): a wide graph has hundreds at
    // once, which is no leak, so Node's warning at 11 must not reach the user.
    setMaxListeners(0, this.abort.signal)
    if (opts.signal !== undefined) {
      if (opts.signal.aborted) this.abort.abort(opts.signal.reason)
      else opts.signal.addEventListener('abort', () => this.abort.abort(opts.signal!.reason), { once: true })
    }
  }

  get signal (): AbortSignal { return this.abort.signal }

  /**
   * Solve every head. On the first failure the remaining work is cancelled,
   * and the call returns only after all in-flight ops have settled (so
   * containers are stopped and mounts released before the error surfaces).
   */
  async solve (heads: readonly SolverVertex[]): Promise<SolvedVertex[]> {
    try {
      const solved = await Promise.all(heads.map((h) => this.resultOf(h)))
      await this.reportSkippedAsCached()
      return solved
    } catch (err) {
      if (!this.abort.signal.aborted) this.abort.abort(err)
      await this.drain()
      throw this.firstError ?? err
    }
  }

  /**
   * A vertex whose key was computed but whose result nobody needed sits below
   * a cache hit: it did not run because its output is already part of the
   * cached result. Report it as cached (bottom first), as BuildKit's progress
   * does, so a no-op rebuild shows every step CACHED.
   */
  private async reportSkippedAsCached (): Promise<void> {
    const skipped = [...this.keyed.values()].reverse().filter((v) => !this.results.has(v.digest))
    for (const v of skipped) this.emitCached(v)
    // Such a step still has its local record; whoever streams a cache export
    // (mode=max keeps every step) is told of it as of a cached result.
    const onSolved = this.opts.onSolved
    if (onSolved === undefined || this.opts.isSkippedSolved !== true) return
    for (const v of skipped) {
      if (this.isForced(v) || v.op.noCache === true || v.op.load === undefined) continue
      const key = await this.keys.get(v.digest)!
      const rec = await this.opts.records.get(key)
      if (rec !== undefined) onSolved(v, { key, result: v.op.load(rec), cached: true })
    }
  }

  /** Each vertex is reported cached once, whether it hit or sat below a hit. */
  private emitCached (v: SolverVertex): void {
    if (this.reportedCached.has(v.digest)) return
    this.reportedCached.add(v.digest)
    this.opts.emit({ type: 'vertex', digest: v.digest, name: v.name, status: 'cached', time: Date.now() })
  }

  /**
   * The steps below a cache hit that nothing has asked to solve (yet) are
   * reported cached before the hit, bottom first, so progress lists a cached
   * build in step order rather than leaving `FROM` to the very end or
   * putting the last step first.
   */
  private reportBelowHit (hit: SolverVertex): void {
    const below: SolverVertex[] = []
    const seen = new Set<Digest>()
    const walk = (v: SolverVertex): void => {
      for (const input of v.inputs) {
        if (seen.has(input.digest) || this.results.has(input.digest) || !this.keyed.has(input.digest)) continue
        seen.add(input.digest)
        walk(input)
        below.push(input)
      }
    }
    walk(hit)
    for (const v of below) this.emitCached(v)
  }

  /**
   * A vertex that ignores the cache (--no-cache, --no-cache-filter) re-runs,
   * and so does everything built on it: its output may differ from the one
   * recorded, so a record of a dependant (same key, since keys come from
   * definitions) may hold a result made from the old output. Such a vertex
   * is never loaded from a record, but still writes one under its usual key.
   */
  private isForced (v: SolverVertex): boolean {
    let f = this.forced.get(v.digest)
    if (f === undefined) {
      f = v.ignoreCache || v.inputs.some((i) => this.isForced(i))
      this.forced.set(v.digest, f)
    }
    return f
  }

  private async drain (): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight])
  }

  private track<T> (p: Promise<T>): Promise<T> {
    this.inFlight.add(p)
    p.then(() => this.inFlight.delete(p), (err) => {
      this.inFlight.delete(p)
      // The first real failure wins; cancellations caused by it are noise.
      if (this.firstError === undefined && findTsbuildError(err)?.code !== 'CANCELLED') this.firstError = err
      if (!this.abort.signal.aborted) this.abort.abort(err)
    })
    return p
  }

  private ctx (v: SolverVertex): OpContext {
    return { signal: this.abort.signal, emit: this.opts.emit, vertex: v.digest }
  }

  keyOf (v: SolverVertex): Promise<CacheKey> {
    let p = this.keys.get(v.digest)
    if (p === undefined) {
      p = this.track(this.computeKey(v))
      this.keys.set(v.digest, p)
      this.keyed.set(v.digest, v)
    }
    return p
  }

  private async computeKey (v: SolverVertex): Promise<CacheKey> {
    const cm = await this.asStep(v, v.op.cacheMap(this.ctx(v)))
    if (cm.deps.length !== v.inputs.length) throw new Error(`op ${v.name}: cache map has ${cm.deps.length} deps for ${v.inputs.length} inputs`)
    const deps = await Promise.all(v.inputs.map(async (input, i) => {
      const dep = cm.deps[i]!
      if (dep.computeDigest !== undefined) {
        const solved = await this.resultOf(input)
        return { content: await this.asStep(v, dep.computeDigest(solved.result, this.abort.signal)), selector: dep.selector }
      }
      return { key: await this.keyOf(input), selector: dep.selector }
    }))
    const key = sha256(canonicalJson({ op: cm.digest, deps })) as CacheKey
    this.keyFacts.set(v.digest, { op: cm.digest, deps, contentOnceSolved: cm.deps.map((d) => d.contentOnceSolved) })
    this.opts.onKey?.(v, { key, op: cm.digest, deps, ...(cm.explain !== undefined ? { explain: cm.explain } : {}) })
    return key
  }

  /**
   * Work a vertex does to find its own cache key (a COPY checksumming the
   * files it reads): when that fails, the step has failed, and is reported
   * as such so the error names it (and its Dockerfile lines), as when it runs.
   */
  private async asStep<T> (v: SolverVertex, work: Promise<T>): Promise<T> {
    try {
      return await work
    } catch (err) {
      if (findTsbuildError(err)?.code !== 'CANCELLED' && !this.abort.signal.aborted) {
        this.opts.emit({ type: 'vertex', digest: v.digest, name: v.name, status: 'error', time: Date.now(), error: err instanceof Error ? err.message : String(err) })
      }
      throw err
    }
  }

  resultOf (v: SolverVertex): Promise<SolvedVertex> {
    let p = this.results.get(v.digest)
    if (p === undefined) {
      p = this.track(this.computeResult(v))
      const onSolved = this.opts.onSolved
      if (onSolved !== undefined) p.then((s) => onSolved(v, s), () => {})
      this.results.set(v.digest, p)
    }
    return p
  }

  private async computeResult (v: SolverVertex): Promise<SolvedVertex> {
    const key = await this.keyOf(v)
    const { records, emit } = this.opts
    const isForced = this.isForced(v)
    if (!isForced && !v.op.noCache && v.op.load !== undefined) {
      const rec = await records.get(key)
      if (rec !== undefined) {
        const result = v.op.load(rec)
        await records.touch(key)
        this.reportBelowHit(v)
        this.emitCached(v)
        return { key, result, cached: true, ...(rec.contentKey !== undefined ? { contentKey: rec.contentKey } : {}) }
      }
      const hit = await this.opts.remote?.lookup(key)
      if (hit !== undefined) {
        const result: Result = { ...v.op.load({ key, layers: hit.layers, createdAt: new Date().toISOString() }), ensure: hit.ensure }
        this.reportBelowHit(v)
        this.emitCached(v)
        return { key, result, cached: true }
      }
    }
    const inputs = await Promise.all(v.inputs.map((i) => this.resultOf(i)))
    if (this.abort.signal.aborted) throw cancelled(this.abort.signal)
    // Built on a COPY --from whose stage was rebuilt: the same files copied give the same key by content.
    const inherited = await this.inheritedContentKey(v, inputs)
    if (inherited !== undefined && v.op.contentKey === undefined && !isForced && !v.op.noCache && v.op.load !== undefined) {
      const rec = await records.get(inherited)
      if (rec !== undefined) {
        const result = v.op.load(rec)
        // Under its own key too, so the next build finds it at once.
        await records.put({ ...rec, key, contentKey: inherited, createdAt: new Date().toISOString() })
        this.emitCached(v)
        return { key, result, cached: true, contentKey: inherited }
      }
    }
    const exclusive = this.opts.exclusive
    if (exclusive === undefined || isForced || v.op.noCache === true || v.op.load === undefined || v.op.resource === 'none') {
      return await this.run(v, key, inputs, inherited, isForced, false)
    }
    // Another tsbuild process on the same state dir may be running this very
    // step: wait for it and take its result, as one BuildKit daemon does for
    // all its clients, instead of doing the work twice.
    let waited = false
    let isEntered = false
    try {
      return await exclusive(key, async () => {
        isEntered = true
        // Looked up again under the lock: the other build may have finished
        // the step while this one solved its inputs, or while it waited.
        const rec = await records.get(key)
        if (rec !== undefined) {
          this.emitCached(v)
          return { key, result: v.op.load!(rec), cached: true, ...(rec.contentKey !== undefined ? { contentKey: rec.contentKey } : {}) }
        }
        return await this.run(v, key, inputs, inherited, isForced, waited)
      }, (holder) => {
        waited = true
        emit({ type: 'vertex', digest: v.digest, name: v.name, status: 'started', time: Date.now() })
        const who = holder !== undefined ? ` (pid ${holder})` : ''
        emit({ type: 'log', digest: v.digest, stream: 2, data: Buffer.from(`another tsbuild build${who} is running this step; waiting for its result\n`), time: Date.now() })
      }, this.abort.signal)
    } catch (err) {
      // Stopped while waiting: the step shown as running must end too.
      if (waited && !isEntered) {
        const isCancel = this.abort.signal.aborted
        emit({ type: 'vertex', digest: v.digest, name: v.name, status: isCancel ? 'cancelled' : 'error', time: Date.now(), error: err instanceof Error ? err.message : String(err) })
        if (isCancel) throw cancelled(this.abort.signal)
      }
      throw err
    }
  }

  /** Run a vertex that missed the cache and record its result. `isStarted`: progress already shows it running. */
  private async run (v: SolverVertex, key: CacheKey, inputs: SolvedVertex[], inherited: CacheKey | undefined, isForced: boolean, isStarted: boolean): Promise<SolvedVertex> {
    const { records, emit } = this.opts
    const slots = v.op.resource === 'exec' ? this.execSlots : v.op.resource === 'io' ? this.ioSlots : undefined
    const release = slots !== undefined ? await slots.acquire(this.abort.signal) : () => {}
    // A source that runs on every build (the build context's load) is no parent that "re-ran".
    const parentRan = inputs.some((inp, i) => !inp.cached && v.inputs[i]!.op.noCache !== true)
    // Re-run only because an input was forced: its record exists under the
    // same key, so no difference in its own facts explains the run.
    const isForcedByParent = isForced && !v.ignoreCache && v.op.noCache !== true
    const explained = this.opts.explainMiss?.(v, { parentRan, isForcedByParent })
    const missReason = isForcedByParent ? 'parent step re-ran' : explained ??
      (v.ignoreCache ? 'cache disabled (--no-cache)' : parentRan ? 'parent step re-ran' : 'no cache record for this step')
    if (!isStarted) emit({ type: 'vertex', digest: v.digest, name: v.name, status: 'started', time: Date.now(), missReason })
    let result: Result
    try {
      result = await v.op.exec(this.ctx(v), inputs.map((i) => i.result))
    } catch (err) {
      const t = findTsbuildError(err)
      const isCancel = t?.code === 'CANCELLED' || this.abort.signal.aborted
      emit({ type: 'vertex', digest: v.digest, name: v.name, status: isCancel ? 'cancelled' : 'error', time: Date.now(), error: err instanceof Error ? err.message : String(err) })
      if (isCancel && t?.code !== 'CANCELLED' && this.firstError !== undefined) throw new TsbuildError('CANCELLED', 'cancelled', { cause: err })
      throw err
    } finally {
      release()
    }
    // A copy from a stage has its own key by content; when it cannot have one, it carries its inputs' on.
    const contentKey = await this.ownContentKey(v, inputs, result) ?? inherited
    if (!v.op.noCache) {
      const record = { createdAt: new Date().toISOString(), description: v.name, ...(result.layers !== undefined ? { layers: result.layers } : {}), ...(contentKey !== undefined ? { contentKey } : {}) }
      await records.put({ key, ...record })
      if (inherited !== undefined && v.op.contentKey === undefined) await records.put({ key: inherited, ...record })
    }
    emit({ type: 'vertex', digest: v.digest, name: v.name, status: 'completed', time: Date.now() })
    return { key, result, cached: false, ...(contentKey !== undefined ? { contentKey } : {}) }
  }

  /**
   * The key by content of a step some of whose inputs have one: its own key
   * with those inputs' keys replaced by their keys by content.
   */
  private async inheritedContentKey (v: SolverVertex, inputs: readonly SolvedVertex[]): Promise<CacheKey | undefined> {
    const facts = this.keyFacts.get(v.digest)!
    const read = await Promise.all(facts.contentOnceSolved.map(async (f, i) => {
      if (f === undefined || facts.deps[i]!.key === undefined) return undefined
      try {
        return await f(inputs[i]!.result, this.abort.signal)
      } catch (err) {
        // Only an optimisation: without it the step is keyed as usual.
        if (this.abort.signal.aborted) throw err
        return undefined
      }
    }))
    if (!inputs.some((i) => i.contentKey !== undefined) && read.every((c) => c === undefined)) return undefined
    const deps = facts.deps.map((d, i) => {
      const content = read[i]
      if (content !== undefined) return { readContent: content, selector: d.selector }
      return d.key !== undefined ? { key: inputs[i]!.contentKey ?? d.key, selector: d.selector } : d
    })
    return sha256(canonicalJson({ byContent: true, op: facts.op, deps })) as CacheKey
  }

  /**
   * The key by content of a step that wrote files it read from a stage or an
   * image (see OpRunner.contentKey). Only an optimisation: when it cannot be
   * had, the steps after it are keyed as usual.
   */
  private async ownContentKey (v: SolverVertex, inputs: readonly SolvedVertex[], result: Result): Promise<CacheKey | undefined> {
    if (v.op.contentKey === undefined) return undefined
    let c: { content: Digest; bases: number[] } | undefined
    try {
      c = await v.op.contentKey(inputs.map((i) => i.result), result)
    } catch (err) {
      if (this.abort.signal.aborted) throw err
      return undefined
    }
    if (c === undefined) return undefined
    const bases = c.bases.map((i) => inputs[i]!.contentKey ?? inputs[i]!.key)
    return sha256(canonicalJson({ byContent: true, op: this.keyFacts.get(v.digest)!.op, bases, content: c.content })) as CacheKey
  }
}
