import type { Digest } from '../../common/digest.js'

export type CacheKey = Digest & { readonly __cacheKey: true }

/**
 * What a solved vertex produced: the committed snapshots (bottom first) whose
 * overlay is the result's root filesystem (empty for scratch). Records never
 * contain secret values or file contents, only names and digests.
 */
export interface CacheRecord {
  key: CacheKey
  layers?: string[]
  /** Human description for du/prune/explanations, e.g. `[build 3/5] RUN make`. */
  description?: string
  createdAt: string
  /** The result's key by content, when it has one (SolvedVertex.contentKey): what steps built on it are also keyed by. */
  contentKey?: CacheKey
  /** Extra facts the cache-miss explanation compares across builds (arg names, files…). */
  inputs?: Record<string, string>
}

export interface RecordStore {
  get (key: CacheKey): Promise<CacheRecord | undefined>
  /** Atomic: readers see the old record or the new one, never a torn file. */
  put (record: CacheRecord): Promise<void>
  delete (key: CacheKey): Promise<void>
  /** Mark as used now (LRU for GC). */
  touch (key: CacheKey): Promise<void>
  list (): AsyncIterable<CacheRecord & { lastUsed: Date }>
}
