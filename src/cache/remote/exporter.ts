import type { Digest } from '../../common/digest.js'
import { findTsbuildError } from '../../common/errors.js'
import type { Descriptor } from '../../common/oci.js'
import type { ContentProvider } from '../content/index.js'
import { encodeCacheConfig, type CacheChain, type CacheLayer, type CacheMountContents } from './format.js'
import type { CacheTarget } from './target.js'

export interface CacheExportDeps {
  /** Describe a committed snapshot as a layer blob (archiving it if needed; the bytes may stay remote). */
  layer: (snapshot: string) => Promise<CacheLayer>
  /** Local content holding `desc` (fetched from an imported cache if need be). */
  content: (desc: Descriptor) => Promise<ContentProvider>
  warn: (message: string) => void
  signal?: AbortSignal
  /** Backoff before retry n (ms); tests shorten it. */
  backoff?: (attempt: number) => number
  attempts?: number
  /** How long a finished step may wait for a commit (ms); tests shorten it. */
  commitInterval?: number
}

/**
 * Entries kept per cache mount id: a changed lockfile adds an entry under a new
 * key, and the oldest beyond this many are dropped so the cache does not grow
 * without bound (the few newest serve branches with different lockfiles).
 */
export const MOUNT_ENTRIES_KEPT = 3

/** The `n` newest entries of each mount id. */
export function newestPerMount (mounts: Iterable<CacheMountContents>, n: number): CacheMountContents[] {
  const byId = new Map<string, CacheMountContents[]>()
  for (const m of mounts) byId.set(m.id, [...(byId.get(m.id) ?? []), m])
  return [...byId.values()].flatMap((list) => list.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0)).slice(0, n))
}

/** A solved step to export: its cache key and its filesystem (snapshot names, bottom first). */
export interface SolvedChain { key: Digest; layers: readonly string[]; description?: string }

/** How long a finished step may wait for the cache manifest to name it (ms). */
export const COMMIT_INTERVAL_MS = 2000

/**
 * Streams a build's cache to one target while the build runs: as each step
 * is added its new layer blobs are uploaded (skipped when the target has
 * them), and the cache manifest is rewritten to include what finished, so a
 * build killed half-way leaves a usable cache of it. Every manifest lists
 * every record, so rewriting it per step would cost the square of the step
 * count: a rewrite waits `commitInterval` after the first step it would add,
 * steps finishing meanwhile share it, and `finish` writes the last one — a
 * fast build commits once. Records already at the target are kept (a key
 * this build produced replaces its old entry).
 *
 * Failures are retried with backoff; after the last attempt the exporter
 * stops, and `finish` reports the error — as a warning when `ignoreError`.
 */
export class CacheExporter {
  private readonly base = new Map<string, CacheChain>()
  private readonly current = new Map<string, CacheChain>()
  private readonly baseMounts = new Map<string, CacheMountContents>()
  private readonly currentMounts = new Map<string, CacheMountContents>()
  private readonly uploads = new Map<string, Promise<void>>()
  /** Steps and mounts still uploading. */
  private readonly pending = new Set<Promise<void>>()
  private readonly baseRead: Promise<void>
  private running?: Promise<void>
  private timer?: NodeJS.Timeout
  private dirty = false
  private failure: unknown
  private committed = 0

  constructor (readonly target: CacheTarget, private readonly opts: { ignoreError: boolean }, private readonly deps: CacheExportDeps) {
    // What is there already survives this build's commits; reading it is best effort.
    this.baseRead = target.read(deps.signal).then((contents) => {
      for (const c of contents?.chains ?? []) this.base.set(c.key, c)
      for (const m of contents?.mounts ?? []) this.baseMounts.set(m.key, m)
    }, () => {})
  }

  /** Queue one step. Never throws: errors surface from `finish`. */
  add (step: SolvedChain): void {
    this.track(this.upload(step), (chain) => { this.current.set(step.key, chain) })
  }

  /**
   * Queue a cache mount's contents (an archived layer in the local store):
   * uploaded, then listed under its key. Never throws: errors surface from `finish`.
   */
  addMount (mount: CacheMountContents): void {
    this.track(this.uploadBlob(mount.layer.descriptor), () => { this.currentMounts.set(mount.key, mount) })
  }

  /** Wait for every upload, then write the manifest if anything is new. Throws the first failure unless `ignoreError`. */
  async finish (): Promise<{ records: number; commits: number }> {
    while (this.pending.size > 0) await Promise.all(this.pending)
    clearTimeout(this.timer)
    this.timer = undefined
    await this.flush()
    if (this.failure !== undefined && !this.opts.ignoreError) throw this.failure
    return { records: this.current.size, commits: this.committed }
  }

  /** Once `upload` is done, `record` lists its result and a commit is due. */
  private track<T> (upload: Promise<T>, record: (value: T) => void): void {
    if (this.failure !== undefined) {
      upload.catch(() => {})
      return
    }
    const done = upload.then((value) => {
      if (this.failure !== undefined) return
      record(value)
      this.dirty = true
      this.schedule()
    }, (err: unknown) => { this.fail(err) }).finally(() => this.pending.delete(done))
    this.pending.add(done)
  }

  private schedule (): void {
    if (this.timer !== undefined) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.flush()
    }, this.deps.commitInterval ?? COMMIT_INTERVAL_MS)
    // A pending commit must not keep a finished process alive; `finish` writes it anyway.
    this.timer.unref()
  }

  /** Write what is new, one commit at a time; a caller arriving during a commit writes after it. */
  private async flush (): Promise<void> {
    while (this.running !== undefined) await this.running
    if (!this.dirty || this.failure !== undefined) return
    this.running = this.commit().catch((err: unknown) => { this.fail(err) }).finally(() => { this.running = undefined })
    await this.running
  }

  private fail (err: unknown): void {
    if (this.failure !== undefined) return
    this.failure = err
    clearTimeout(this.timer)
    this.timer = undefined
    if (this.opts.ignoreError) this.deps.warn(`cache export to ${this.target.name} failed, continuing without it: ${findTsbuildError(err)?.message ?? (err as Error).message}`)
  }

  private async upload (step: SolvedChain): Promise<CacheChain> {
    const layers = await Promise.all(step.layers.map((name) => this.deps.layer(name)))
    await Promise.all(layers.map((l) => this.uploadBlob(l.descriptor)))
    return { key: step.key, layers, ...(step.description !== undefined ? { description: step.description } : {}) }
  }

  private uploadBlob (desc: Descriptor): Promise<void> {
    let p = this.uploads.get(desc.digest)
    if (p === undefined) {
      p = this.retry(`uploading ${desc.digest}`, async () => { await this.target.putBlob(desc, async () => await this.deps.content(desc), this.deps.signal) })
      this.uploads.set(desc.digest, p)
      p.catch(() => this.uploads.delete(desc.digest))
    }
    return p
  }

  private async commit (): Promise<void> {
    await this.baseRead
    this.dirty = false
    const all = new Map(this.base)
    for (const [k, c] of this.current) all.set(k, c)
    const mounts = new Map(this.baseMounts)
    for (const [k, m] of this.currentMounts) mounts.set(k, m)
    const kept = newestPerMount(mounts.values(), MOUNT_ENTRIES_KEPT)
    try {
      await this.retry('writing the cache manifest', async () => { await this.target.commit(encodeCacheConfig(all.values(), kept), this.deps.signal) })
    } catch (err) {
      this.dirty = true
      throw err
    }
    this.committed++
  }

  private async retry (what: string, fn: () => Promise<void>): Promise<void> {
    const attempts = this.deps.attempts ?? 4
    const backoff = this.deps.backoff ?? ((n: number) => 250 * 2 ** n)
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn()
      } catch (err) {
        const code = findTsbuildError(err)?.code
        const final = attempt + 1 >= attempts || code === 'CANCELLED' || code === 'UNAUTHORIZED' || this.deps.signal?.aborted === true
        if (final) throw err
        await new Promise((resolve) => setTimeout(resolve, backoff(attempt)))
      }
    }
  }
}
