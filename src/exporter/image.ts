import type { ContentStore } from '../cache/content/index.js'
import { canonicalJson } from '../common/digest.js'
import type { Digest } from '../common/digest.js'
import { TsbuildError } from '../common/errors.js'
import { MediaType } from '../common/oci.js'
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest } from '../common/oci.js'
import type { Platform } from '../common/platform.js'
import { compressionOfMediaType, layerMediaType } from './compression.js'

/** A layer as it will appear in a manifest: its blob plus the uncompressed digest for the config. */
export interface LayerRef {
  descriptor: Descriptor
  diffID: Digest
}

export interface ImageManifestOptions {
  config: ImageConfig
  layers: readonly LayerRef[]
  ociMediaTypes: boolean
  /** Seconds; sets `created` and clamps history times, for reproducible configs. */
  sourceDateEpoch?: number
  annotations?: Record<string, string>
}

export interface StoredImage {
  /** The manifest's descriptor, carrying the platform. */
  manifest: Descriptor
  config: Descriptor
  platform: Platform
}

/**
 * Write an image config and its manifest into the store. The config's
 * `rootfs.diff_ids` are replaced by the layers' own, so they cannot disagree.
 */
export async function writeImageManifest (store: ContentStore, opts: ImageManifestOptions): Promise<StoredImage> {
  const config = normalizeConfig(opts)
  const configBytes = canonicalJson(config)
  const configInfo = await store.writeBytes(configBytes)
  const configDesc: Descriptor = { mediaType: opts.ociMediaTypes ? MediaType.ociConfig : MediaType.dockerConfig, digest: configInfo.digest, size: configInfo.size }
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: opts.ociMediaTypes ? MediaType.ociManifest : MediaType.dockerManifest,
    config: configDesc,
    layers: opts.layers.map((l) => convertLayerMediaType(l.descriptor, opts.ociMediaTypes)),
    ...(opts.annotations !== undefined ? { annotations: opts.annotations } : {}),
  }
  const info = await store.writeBytes(canonicalJson(manifest))
  const platform = { os: config.os, architecture: config.architecture, ...(config.variant !== undefined ? { variant: config.variant } : {}) }
  return { manifest: { mediaType: manifest.mediaType!, digest: info.digest, size: info.size, platform }, config: configDesc, platform }
}

/** Write an index over several platform manifests (a manifest list with Docker media types). */
export async function writeImageIndex (store: ContentStore, manifests: readonly Descriptor[], opts: { ociMediaTypes: boolean; annotations?: Record<string, string> }): Promise<Descriptor> {
  const mediaType = opts.ociMediaTypes ? MediaType.ociIndex : MediaType.dockerManifestList
  const index: ImageIndex = { schemaVersion: 2, mediaType, manifests: [...manifests], ...(opts.annotations !== undefined ? { annotations: opts.annotations } : {}) }
  const info = await store.writeBytes(canonicalJson(index))
  return { mediaType, digest: info.digest, size: info.size }
}

function normalizeConfig (opts: ImageManifestOptions): ImageConfig {
  const config: ImageConfig = { ...opts.config, rootfs: { type: 'layers', diff_ids: opts.layers.map((l) => l.diffID) } }
  const epoch = opts.sourceDateEpoch
  if (epoch !== undefined) {
    const at = new Date(epoch * 1000).toISOString().replace('.000Z', 'Z')
    config.created = at
    config.history = config.history?.map((h) => (h.created === undefined || Date.parse(h.created) > epoch * 1000 ? { ...h, created: at } : h))
  }
  return config
}

/** The same blob under the other family's media type name (gzip and plain tar exist in both). */
export function convertLayerMediaType (layer: Descriptor, ociMediaTypes: boolean): Descriptor {
  const compression = compressionOfMediaType(layer.mediaType)
  if (compression === undefined) return layer
  if (!ociMediaTypes && compression === 'zstd') {
    throw new TsbuildError('USAGE', `layer ${layer.digest} is zstd-compressed, which Docker media types cannot describe: use oci-mediatypes=true or force-compression=true with compression=gzip`)
  }
  return { ...layer, mediaType: layerMediaType(compression, ociMediaTypes) }
}

/**
 * Creation times for an image built without SOURCE_DATE_EPOCH, as BuildKit's
 * exporter sets them: a history entry that made a layer and has no time of
 * its own gets the time its layer was made (`layerTimes`, aligned with the
 * image's layers, bottom first; a cached layer keeps the time of the build
 * that made it), but never one older than a layer below it. An entry without a layer takes the time of the first new
 * layer after it, or of the layer before it. The image is `created` at its
 * last history time. So a rebuild that hits the cache for every step gives
 * the same config, and the same image digest, as the build before it.
 * Entries that no time reaches stay without one (the field is optional).
 */
export function withLayerTimes (config: ImageConfig, layerTimes: ReadonlyArray<string | undefined>): ImageConfig {
  const history = (config.history ?? []).map((h) => ({ ...h }))
  let layer = 0
  // A layer is never older than the layers below it: one whose content was
  // first made long ago (an equal layer an earlier build made) takes the
  // time of the newest layer below it instead.
  let floor: string | undefined
  for (const h of history) {
    if (h.empty_layer === true) continue
    let time = layerTimes[layer++]
    if (h.created === undefined && time !== undefined) {
      if (floor !== undefined && Date.parse(floor) > Date.parse(time)) time = floor
      h.created = time
    }
    if (h.created !== undefined && (floor === undefined || Date.parse(h.created) > Date.parse(floor))) floor = h.created
  }
  // The first time after an entry without one (so metadata lines right after
  // FROM do not take the base image's age), else the last time there is.
  let time: string | undefined
  let sawUntimed = false
  for (const h of history) {
    if (h.created === undefined) sawUntimed = true
    else {
      time = h.created
      if (sawUntimed) break
    }
  }
  sawUntimed = false
  for (const h of history) {
    if (h.created === undefined) {
      sawUntimed = true
      if (time !== undefined) h.created = time
    } else if (sawUntimed) {
      time = h.created
    }
  }
  const created = config.created ?? history.findLast((h) => h.created !== undefined)?.created
  const out: ImageConfig = { ...config }
  if (config.history !== undefined) out.history = history
  if (created !== undefined) out.created = created
  return out
}
