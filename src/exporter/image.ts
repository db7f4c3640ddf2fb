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
  }
  const info = await store.writeBytes(canonicalJson(manifest))
  const platform = { os: config.os, architecture: config.architecture, ...(config.variant !== undefined ? { variant: config.variant } : {}) }
  return { manifest: { mediaType: manifest.mediaType!, digest: info.digest, size: info.size, platform }, config: configDesc, platform }
}

/** Write an index over several platform manifests (a manifest list with Docker media types). */
export async function writeImageIndex (store: ContentStore, manifests: readonly Descriptor[], opts: { ociMediaTypes: boolean }): Promise<Descriptor> {
  const mediaType = opts.ociMediaTypes ? MediaType.ociIndex : MediaType.dockerManifestList
  const index: ImageIndex = { schemaVersion: 2, mediaType, manifests: [...manifests] }
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
