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
}

export interface CacheEntry {
  /** A vertex's cache key. */
  key: Digest
  /** Its result's filesystem, bottom first, as indexes into `layers`. */
  layers: number[]
  description?: string
}

/** The config blob of a cache manifest, and the inline field's value. */
export interface CacheConfig {
  schemaVersion: 1
  layers: CacheLayer[]
  records: CacheEntry[]
}

/** A cache record resolved to its layers. */
export interface CacheChain {
  key: Digest
  layers: CacheLayer[]
  description?: string
}

/** Build the config from chains, sharing each layer (by blob digest) once. */
export function encodeCacheConfig (chains: Iterable<CacheChain>): CacheConfig {
  const layers: CacheLayer[] = []
  const index = new Map<string, number>()
  const records: CacheEntry[] = []
  const sorted = [...chains].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  for (const c of sorted) {
    const ids = c.layers.map((l) => {
      let i = index.get(l.descriptor.digest)
      if (i === undefined) {
        i = layers.length
        index.set(l.descriptor.digest, i)
        layers.push({ descriptor: { mediaType: l.descriptor.mediaType, digest: l.descriptor.digest, size: l.descriptor.size }, diffID: l.diffID })
      }
      return i
    })
    records.push({ key: c.key, layers: ids, ...(c.description !== undefined ? { description: c.description } : {}) })
  }
  return { schemaVersion: 1, layers, records }
}

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
