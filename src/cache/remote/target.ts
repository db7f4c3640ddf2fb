import type { Descriptor } from '../../common/oci.js'
import type { ContentProvider, ContentStore } from '../content/index.js'
import type { CacheConfig, CacheContents } from './format.js'

/**
 * Where a cache lives: an OCI image layout dir (type=local) or a registry
 * repository (type=registry). Blobs go in before the manifest that names
 * them, and `commit` replaces the manifest atomically, so a reader (or a
 * build killed half-way) always sees a complete, usable cache.
 */
export interface CacheTarget {
  /** How messages name it, e.g. `registry localhost:5000/cache:main`. */
  readonly name: string
  /** A cache in a registry: its reference, which a push to the same registry can mount blobs from. */
  readonly registryRef?: string
  /** The records and cache mounts stored there now; undefined when there is no cache yet. */
  read (signal?: AbortSignal): Promise<CacheContents | undefined>
  /**
   * Upload one blob unless the target has it. `content` is called only when
   * the bytes are needed, so a layer that was imported lazily is downloaded
   * only if this target lacks it. Returns whether bytes were sent.
   */
  putBlob (desc: Descriptor, content: () => Promise<ContentProvider>, signal?: AbortSignal): Promise<boolean>
  /** Download one blob into the local store, verified. */
  fetchBlob (desc: Descriptor, store: ContentStore, signal?: AbortSignal): Promise<void>
  /** Point the cache at this metadata; every layer it lists must already be there. */
  commit (config: CacheConfig, signal?: AbortSignal): Promise<void>
}
