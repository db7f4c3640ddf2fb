import type { Digest } from '../../common/digest.js'
import type { ContextSnapshot } from '../context/index.js'
import type { Result } from '../scheduler/index.js'

/**
 * The result of a local source: the scanned context, read where it lies. Its
 * files become a snapshot only when something has to read them (a cache miss
 * of a COPY or a bind mount); a fully cached build never copies the context.
 */
export interface LocalContextRef {
  root: string
  snapshot: ContextSnapshot
  /** Copy the selected files into a committed snapshot (once per build) and return its name. */
  materialize: () => Promise<string>
}

export function contextOf (r: Result): LocalContextRef | undefined {
  return r.context as LocalContextRef | undefined
}

/** The layers of a solved result, materialising a local context on demand. */
export async function layersOf (r: Result | undefined): Promise<string[]> {
  if (r === undefined) return []
  const ctx = contextOf(r)
  if (ctx !== undefined) return [await ctx.materialize()]
  await r.ensure?.()
  return r.layers ?? []
}

/** What an image source needs from the image machinery (store + registry). */
export interface ImageProvider {
  /** Resolve a reference for one platform: the manifest digest keys the cache. */
  resolve (ref: string, platform: import('../../common/platform.js').Platform, signal: AbortSignal): Promise<{ digest: Digest }>
  /** Make sure the image's blobs are local; returns its layers in order. */
  pullLayers (ref: string, platform: import('../../common/platform.js').Platform, signal: AbortSignal): Promise<Array<{ descriptor: import('../../common/oci.js').Descriptor; diffID: Digest }>>
}

/** Secrets, ssh sockets and cache mounts come from the build request through these. */
export interface MountProviders {
  secret (id: string): Promise<Uint8Array | undefined>
  ssh? (id: string, signal: AbortSignal): Promise<{ socketPath: string; release: () => Promise<void> } | undefined>
  /**
   * `keyFrom`: context paths that key the mount's contents in a portable cache (see docs/cache-format.md).
   * `baseKey`/`seed`: a `from=` base with contents names a cache of its own and fills it when it is new.
   */
  cache (opts: { id: string; sharing: 'shared' | 'private' | 'locked'; uid: number; gid: number; mode: number; keyFrom?: readonly string[]; baseKey?: string; seed?: (dir: string) => Promise<void> }, signal: AbortSignal): Promise<{ hostPath: string; release: () => Promise<void> | void }>
}
