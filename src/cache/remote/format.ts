import { canonicalJson, isDigest, sha256, type Digest } from '../../common/digest.js'
import { TsbuildError } from '../../common/errors.js'
import { MediaType, type Descriptor, type ImageManifest } from '../../common/oci.js'

/**
 * The cache format (docs/cache-format.md): a plain OCI image manifest whose
 * layers are layer blobs and whose config maps cache keys to chains of those
 * layers. Any OCI registry stores it; an OCI image layout dir holds it too.
 */
export const CACHE_ARTIFACT_TYPE = 'application/vnd.tsbuild.cache.v1+json'
export const CACHE_CONFIG_MEDIA_TYPE = 'application/vnd.tsbuild.cache.config.v1+json'
/** The image config field that carries inline cache metadata (`--cache-to type=inline`). */
export const INLINE_CACHE_FIELD = 'tsbuild.cache.v1'

export interface CacheLayer {
  /** The blob as stored (compressed). */
  descriptor: Descriptor
  /** Digest of the uncompressed tar: the name of the unpacked snapshot. */
  diffID: Digest
  /**
   * When the layer was made (ISO 8601), so an image exported from imported
   * cache on another machine carries the same history times, and digest, as
   * the build that made it (BuildKit's `buildkit/createdat`). Older caches lack it.
   */
  createdAt?: string
}

export interface CacheEntry {
  /** A vertex's cache key. */
  key: Digest
  /** Its result's filesystem, bottom first, as indexes into `layers`. */
  layers: number[]
  description?: string
}

/** A cache mount's contents (`mounts=true`): one layer, under the mount's portable key. */
export interface CacheMountEntry {
  /** sha256 of the mount id and, with `key-from`, the checksum of those files. */
  key: Digest
  /** The mount's id, for the fallback to the newest entry of the same mount. */
  id: string
  layer: number
  /** When the contents were archived (ISO 8601). */
  createdAt: string
}

/** The config blob of a cache manifest, and the inline field's value. */
export interface CacheConfig {
  schemaVersion: 1
  layers: CacheLayer[]
  records: CacheEntry[]
  /** Absent when no cache mount was exported, so older caches keep their bytes. */
  mounts?: CacheMountEntry[]
}

/** A cache mount entry resolved to its layer. */
export interface CacheMountContents {
  key: Digest
  id: string
  layer: CacheLayer
  createdAt: string
}

/** Everything a cache holds: step records and cache mount contents. */
export interface CacheContents {
  chains: CacheChain[]
  mounts: CacheMountContents[]
}

/** A cache record resolved to its layers. */
export interface CacheChain {
  key: Digest
  layers: CacheLayer[]
  description?: string
}

/** Build the config from chains (and cache mounts), sharing each layer (by blob digest) once. */
export function encodeCacheConfig (chains: Iterable<CacheChain>, mounts: Iterable<CacheMountContents> = []): CacheConfig {
  const layers: CacheLayer[] = []
  const index = new Map<string, number>()
  const layerIndex = (l: CacheLayer): number => {
    let i = index.get(l.descriptor.digest)
    if (i === undefined) {
      i = layers.length
      index.set(l.descriptor.digest, i)
      layers.push({ descriptor: { mediaType: l.descriptor.mediaType, digest: l.descriptor.digest, size: l.descriptor.size }, diffID: l.diffID, ...(l.createdAt !== undefined ? { createdAt: l.createdAt } : {}) })
    }
    return i
  }
  const records: CacheEntry[] = []
  for (const c of [...chains].sort(byKey)) {
    records.push({ key: c.key, layers: c.layers.map(layerIndex), ...(c.description !== undefined ? { description: c.description } : {}) })
  }
  const mountEntries = [...mounts].sort(byKey).map((m) => ({ key: m.key, id: m.id, layer: layerIndex(m.layer), createdAt: m.createdAt }))
  return { schemaVersion: 1, layers, records, ...(mountEntries.length > 0 ? { mounts: mountEntries } : {}) }
}

const byKey = (a: { key: string }, b: { key: string }): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)

/** Validate untrusted cache metadata: its records and its cache mount entries. */
export function decodeCacheContents (value: unknown, where: string): CacheContents {
  const chains = decodeCacheConfig(value, where)
  const c = value as CacheConfig
  if (c.mounts === undefined) return { chains, mounts: [] }
  const bad = (why: string): TsbuildError => new TsbuildError('UNSUPPORTED_MEDIA_TYPE', `cache ${where}: ${why}`)
  if (!Array.isArray(c.mounts)) throw bad('mounts is not a list')
  const mounts = c.mounts.map((m) => {
    if (!isDigestValue(m?.key) || typeof m.id !== 'string' || typeof m.createdAt !== 'string') throw bad('a cache mount entry is malformed')
    const layer = Number.isInteger(m.layer) ? c.layers[m.layer] : undefined
    if (layer === undefined) throw bad(`cache mount ${m.id} refers to layer ${String(m.layer)}, which is not listed`)
    return { key: m.key, id: m.id, layer, createdAt: m.createdAt }
  })
  return { chains, mounts }
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/

/** Validate untrusted cache metadata and resolve it into chains. */
export function decodeCacheConfig (value: unknown, where: string): CacheChain[] {
  const bad = (why: string): TsbuildError => new TsbuildError('UNSUPPORTED_MEDIA_TYPE', `cache ${where}: ${why}`)
  if (typeof value !== 'object' || value === null) throw bad('metadata is not a JSON object')
  const c = value as Partial<CacheConfig>
  if (c.schemaVersion !== 1) throw bad(`unsupported schemaVersion ${String(c.schemaVersion)}`)
  if (!Array.isArray(c.layers) || !Array.isArray(c.records)) throw bad('metadata has no layers or records')
  for (const l of c.layers) {
    if (!isDigestValue(l?.diffID) || !isDigestValue(l?.descriptor?.digest) || typeof l.descriptor.size !== 'number' || typeof l.descriptor.mediaType !== 'string') {
      throw bad('a layer entry is malformed')
    }
    // The time goes into exported image configs: only an RFC 3339 timestamp is taken.
    if (l.createdAt !== undefined && (typeof l.createdAt !== 'string' || !RFC3339.test(l.createdAt))) throw bad(`layer ${l.descriptor.digest} has a malformed createdAt`)
  }
  return c.records.map((r) => {
    if (!isDigestValue(r?.key) || !Array.isArray(r.layers)) throw bad('a record is malformed')
    const layers = r.layers.map((i) => {
      const l = Number.isInteger(i) ? c.layers![i] : undefined
      if (l === undefined) throw bad(`record ${r.key} refers to layer ${String(i)}, which is not listed`)
      return l
    })
    return { key: r.key, layers, ...(typeof r.description === 'string' ? { description: r.description } : {}) }
  })
}

/** The manifest that points at a cache config: every layer is listed so registry GC keeps it. */
export function cacheManifest (config: CacheConfig): { manifest: Buffer; config: Buffer; configDescriptor: Descriptor } {
  const configBytes = Buffer.from(canonicalJson(config))
  const configDescriptor: Descriptor = { mediaType: CACHE_CONFIG_MEDIA_TYPE, digest: sha256(configBytes), size: configBytes.length }
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType: CACHE_ARTIFACT_TYPE,
    config: configDescriptor,
    layers: config.layers.map((l) => ({ ...l.descriptor, annotations: { 'tsbuild.cache.diffid': l.diffID } })),
  }
  return { manifest: Buffer.from(JSON.stringify(manifest)), config: configBytes, configDescriptor }
}

/** Inline metadata: the image's own layers, one record per head (plus its prefixes). */
export function inlineCacheValue (chains: Iterable<CacheChain>): CacheConfig {
  return encodeCacheConfig(chains)
}

const isDigestValue = (v: unknown): v is Digest => typeof v === 'string' && isDigest(v)

/**
 * The portable key of a cache mount's contents: its id, plus with `key-from`
 * the checksum of those context files, so a cache is matched to the lockfile
 * it was made from.
 */
export function cacheMountKey (id: string, filesChecksum?: Digest): Digest {
  return sha256(canonicalJson(filesChecksum === undefined ? { id } : { id, files: filesChecksum }))
}
