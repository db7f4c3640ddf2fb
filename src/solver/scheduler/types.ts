import type { Digest } from '../../common/digest.js'
import type { CacheKey, CacheRecord } from '../../cache/records/index.js'
import type { EventSink } from '../events.js'

/**
 * A solved output. `layers` are committed snapshot names, bottom first: the
 * filesystem is their overlay, and each is one layer when exported (an empty
 * list is scratch). `context` is a lazy reference used by local sources,
 * whose files are read where they are instead of being copied first.
 */
export interface Result {
  layers?: string[]
  context?: { readonly root: string }
  /** Anything an op wants to pass to its consumers (e.g. image config of a source). */
  meta?: Record<string, unknown>
  /** Set when `layers` may not be on disk yet (an imported cache hit): call before reading them. */
  ensure?: () => Promise<void>
}

/** How one input contributes to a vertex's cache key. */
export interface CacheDep {
  /** Part of the input the op reads (e.g. a COPY source path); keys the input more narrowly. */
  selector?: string
  /**
   * Content-based key: computed from the input's result (a checksum of the
   * files a COPY reads from the context). When set, it replaces the input's
   * cache key, so an unchanged file under a changed context still hits.
   */
  computeDigest?: (input: Result, signal: AbortSignal) => Promise<Digest>
  /**
   * A second, content-based key for an input the op only reads (a read-only
   * bind mount of a stage), as BuildKit keys it: asked only once the plain
   * key has missed and the input is solved, and it then stands for the input
   * in the key by content (see SolvedVertex.contentKey), so a stage rebuilt
   * with the same files there keeps the step cached. Undefined when it
   * cannot be had.
   */
  contentOnceSolved?: (input: Result, signal: AbortSignal) => Promise<Digest | undefined>
}

export interface CacheMap {
  /** Definition digest of the op, normalised to drop what cannot change its output. */
  digest: Digest
  deps: CacheDep[]
  /** Facts kept in the record to explain a later miss (build args, files, base digest). */
  explain?: Record<string, string>
}

/** What a vertex's cache key was computed from (kept to explain a later miss). */
export interface KeyFacts {
  key: CacheKey
  op: Digest
  /** Per input: its cache key, or the content checksum of what the op reads from it. */
  deps: Array<{ key?: CacheKey; content?: Digest; selector?: string | undefined }>
  explain?: Record<string, string>
}

export interface OpContext {
  signal: AbortSignal
  emit: EventSink
  vertex: Digest
}

/** The solver's per-op implementation (BuildKit's solver.Op). */
export interface OpRunner {
  /** 'exec' ops take a slot of the exec semaphore; 'io' ops a larger pool. */
  readonly resource: 'exec' | 'io' | 'none'
  cacheMap (ctx: OpContext): Promise<CacheMap>
  /** Run the op. Inputs are solved results in the op's input order. */
  exec (ctx: OpContext, inputs: Result[]): Promise<Result>
  /**
   * What an op's result holds, independent of where its inputs came from:
   * the digest of what it wrote and the inputs it wrote on (their keys stay
   * in the key). A `COPY --from` gives one, so the steps after it hit the
   * cache when a rebuilt stage yields the same files. Undefined when the op
   * cannot say.
   */
  contentKey? (inputs: Result[], result: Result): Promise<{ content: Digest; bases: number[] } | undefined>
  /** Re-create a result from a cache record (cheap: usually just the snapshot name). */
  load? (record: CacheRecord): Result
  /** Ops whose results must never be cached (e.g. nothing to reuse). */
  readonly noCache?: boolean
}

export interface SolverVertex {
  digest: Digest
  name: string
  inputs: SolverVertex[]
  op: OpRunner
  ignoreCache: boolean
}

export interface SolvedVertex {
  key: CacheKey
  result: Result
  cached: boolean
  /**
   * The key by content (see OpRunner.contentKey): set for a `COPY --from`
   * and every step built on one. Steps whose inputs have one are also
   * recorded under a key made from them, which a rebuild that copied the
   * same files finds.
   */
  contentKey?: CacheKey
}
