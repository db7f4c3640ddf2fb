import type { Digest } from '../../common/digest.js'
import { findTsbuildError, TsbuildError } from '../../common/errors.js'
import type { Descriptor } from '../../common/oci.js'
import type { ContentStore } from '../content/index.js'
import type { LayerIndex } from '../layers/index.js'
import type { CacheKey, RecordStore } from '../records/index.js'
import { applyLayer, unpackLayer, type Snapshotter } from '../snapshots/index.js'
import type { CacheChain, CacheLayer, CacheMountContents } from './format.js'
import type { CacheTarget } from './target.js'

export interface CacheImportDeps {
  content: ContentStore
  snapshotter: Snapshotter
  layerIndex: LayerIndex
  records: RecordStore
}

/** A cache hit from an imported cache: layer names now, bytes on demand. */
export interface RemoteHit {
  /** Snapshot names (the layers' diffIDs), bottom first. */
  layers: string[]
  /**
   * Download and unpack whatever of the chain is not on disk yet; idempotent
   * and shared by concurrent callers. After it, the hit is also a local
   * record, so later builds need no import.
   */
  ensure: () => Promise<void>
}

interface Imported { chain: CacheChain; from: CacheTarget }

/**
 * The caches named by `--cache-from`, read once at the start of a build
 * (metadata only: no layer is downloaded here). The first source that has a
 * key wins. A layer is fetched only when a consumer calls `ensure` (a step
 * that runs on top of it, a COPY that reads it) or the exporter asks for its
 * blob — which it can take from the blob alone, without unpacking.
 */
export class CacheImporter {
  private readonly chains = new Map<string, Imported>()
  private readonly blobSources = new Map<string, CacheTarget>()
  private readonly unpacking = new Map<string, Promise<void>>()
  private readonly ensured = new Map<string, Promise<void>>()
  private readonly mounts = new Map<string, CacheMountContents>()

  constructor (private readonly deps: CacheImportDeps, private readonly signal?: AbortSignal) {}

  /** Read one source's metadata; later sources never override earlier ones. Returns the record count. */
  /** Read a cache in; the number of steps it holds, or undefined when there is no cache there. */
  async add (target: CacheTarget): Promise<number | undefined> {
    const contents = await target.read(this.signal)
    if (contents === undefined) return undefined
    const chains = contents?.chains ?? []
    for (const m of contents?.mounts ?? []) {
      if (!this.mounts.has(m.key)) this.mounts.set(m.key, m)
      if (!this.blobSources.has(m.layer.descriptor.digest)) this.blobSources.set(m.layer.descriptor.digest, target)
    }
    for (const chain of chains) {
      if (!this.chains.has(chain.key)) this.chains.set(chain.key, { chain, from: target })
      for (const l of chain.layers) if (!this.blobSources.has(l.descriptor.digest)) this.blobSources.set(l.descriptor.digest, target)
    }
    return chains.length
  }

  get size (): number { return this.chains.size + this.mounts.size }

  /**
   * The imported contents for a cache mount: the entry under exactly `key`,
   * else the newest entry of the same mount id (a changed lockfile starts
   * from the previous one's cache rather than from nothing).
   */
  mountFor (id: string, key: Digest): CacheMountContents | undefined {
    const exact = this.mounts.get(key)
    if (exact !== undefined) return exact
    let newest: CacheMountContents | undefined
    for (const m of this.mounts.values()) if (m.id === id && (newest === undefined || m.createdAt > newest.createdAt)) newest = m
    return newest
  }

  /** Download a cache mount's layer and extract it over `dir` (files there are kept unless the layer replaces them). */
  async restoreMount (entry: CacheMountContents, dir: string): Promise<void> {
    if (!await this.fetchBlob(entry.layer.descriptor)) throw new Error(`imported cache mount ${entry.id} has no source`)
    const { diffID } = await applyLayer(this.deps.content.read(entry.layer.descriptor.digest), dir, this.signal !== undefined ? { signal: this.signal } : {})
    if (diffID !== entry.layer.diffID) throw new TsbuildError('DIGEST_MISMATCH', `cache mount ${entry.id}: layer ${entry.layer.descriptor.digest} has diffID ${diffID}, expected ${entry.layer.diffID}`)
  }

  async lookup (key: CacheKey): Promise<RemoteHit | undefined> {
    const hit = this.chains.get(key)
    if (hit === undefined) return undefined
    // Remember each layer's blob, so an export reuses it (or fetches it) instead of re-archiving.
    for (const l of hit.chain.layers) {
      const known = await this.deps.layerIndex.get(l.diffID)
      const knowsTime = known?.created !== undefined || l.createdAt === undefined
      if (known?.blobs.some((b) => b.digest === l.descriptor.digest) !== true || !knowsTime) await this.deps.layerIndex.addBlob(l.diffID, l.diffID, l.descriptor, l.createdAt)
    }
    return {
      layers: hit.chain.layers.map((l) => l.diffID),
      ensure: async () => {
        let p = this.ensured.get(key)
        if (p === undefined) {
          p = this.materialize(key, hit.chain)
          this.ensured.set(key, p)
          p.catch(() => this.ensured.delete(key))
        }
        await p
      },
    }
  }

  /** Imported chains whose layers are a bottom part of `layers` (snapshot names = diffIDs). */
  prefixesOf (layers: readonly string[]): CacheChain[] {
    return [...this.chains.values()].map((i) => i.chain)
      .filter((c) => c.layers.length <= layers.length && c.layers.every((l, i) => layers[i] === l.diffID))
  }

  /** Whether an imported cache has this blob. */
  lists (digest: Digest): boolean { return this.blobSources.has(digest) }

  /** The registry reference of the cache that lists a blob, when that cache is in a registry. */
  registryRefOf (digest: Digest): string | undefined { return this.blobSources.get(digest)?.registryRef }

  /** Bring a blob that an imported cache lists into the local store. False when no source lists it. */
  async fetchBlob (desc: Descriptor): Promise<boolean> {
    const from = this.blobSources.get(desc.digest)
    if (from === undefined) return false
    if (await this.deps.content.info(desc.digest) !== undefined) return true
    try {
      await from.fetchBlob(desc, this.deps.content, this.signal)
    } catch (err) {
      // Name the cache: a damaged blob there is fixed by exporting the cache again.
      const t = findTsbuildError(err)
      if (t === undefined || t.code === 'CANCELLED') throw err
      throw new TsbuildError(t.code, `cache ${from.name}: ${t.message}`, { cause: err, hint: 'the imported cache is damaged: export it again (--cache-to), or build without this --cache-from' })
    }
    return true
  }

  private async materialize (key: CacheKey, chain: CacheChain): Promise<void> {
    await Promise.all(chain.layers.map((l) => this.unpack(l)))
    await this.deps.records.put({
      key, layers: chain.layers.map((l) => l.diffID), createdAt: new Date().toISOString(),
      ...(chain.description !== undefined ? { description: chain.description } : {}),
    })
  }

  private unpack (l: CacheLayer): Promise<void> {
    let p = this.unpacking.get(l.diffID)
    if (p === undefined) {
      p = (async () => {
        const { snapshotter, content } = this.deps
        if (await snapshotter.stat(l.diffID as never) !== undefined) return
        if (!await this.fetchBlob(l.descriptor)) throw new Error(`imported layer ${l.diffID} has no source`)
        await unpackLayer(snapshotter, l.diffID as Digest, content.read(l.descriptor.digest), this.signal !== undefined ? { signal: this.signal } : {})
      })()
      this.unpacking.set(l.diffID, p)
      p.catch(() => this.unpacking.delete(l.diffID))
    }
    return p
  }
}
