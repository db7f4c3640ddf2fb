import type { ContentStore } from '../cache/content/index.js'
import type { Digest } from '../common/digest.js'
import type { Descriptor, ImageConfig } from '../common/oci.js'
import { annotationsFor, type Annotation } from './annotations.js'
import { checkAttestationMediaTypes, imageSubjects, writeAttestationManifest, type AttestationSource } from './attestationManifest.js'
import type { Compression } from './compression.js'
import { compressionOfMediaType } from './compression.js'
import type { ExportPool } from './exportPool.js'
import { writeImageIndex, writeImageManifest } from './image.js'
import type { LayerRef, StoredImage } from './image.js'
import { createLayer, recompressLayer } from './layer.js'

/** Where a layer comes from: a base-image blob already in the store, or a snapshot diff directory. */
export type LayerSource =
  | { kind: 'blob'; descriptor: Descriptor; diffID: Digest }
  | { kind: 'dir'; dir: string }

/** One platform's result of a build: its config (platform in os/architecture/variant) and layers, lowest first. */
export interface ImageSource {
  config: ImageConfig
  layers: readonly LayerSource[]
}

export interface PrepareOptions {
  store: ContentStore
  pool: ExportPool
  compression: Compression
  compressionLevel?: number
  forceCompression: boolean
  ociMediaTypes: boolean
  sourceDateEpoch?: number
  /** On the manifests, the index and the index's manifest descriptors (checked against the platforms beforehand). */
  annotations?: readonly Annotation[]
  signal?: AbortSignal
  /** Attestations to attach: each platform image gets an attestation manifest, and the root is then always an index. */
  attestations?: AttestationSource
  /** The image's names, for the attestations' subjects. */
  names?: readonly string[]
}

export interface PreparedImages {
  /** The index when there are several platforms, else the one manifest. */
  root: Descriptor
  images: StoredImage[]
}

/**
 * Turn build results into stored manifests (and an index for several
 * platforms). New layers are archived and compressed concurrently in the
 * pool; base-image layers keep their original blobs unless force-compression
 * asks for another compression.
 */
export async function prepareImages (sources: readonly ImageSource[], opts: PrepareOptions): Promise<PreparedImages> {
  if (sources.length === 0) throw new Error('prepareImages needs at least one image')
  if (opts.attestations !== undefined) checkAttestationMediaTypes(opts.ociMediaTypes, 'provenance')
  const layerOpts = {
    compression: opts.compression, ociMediaTypes: opts.ociMediaTypes, store: opts.store, pool: opts.pool,
    ...(opts.compressionLevel !== undefined ? { level: opts.compressionLevel } : {}),
    ...(opts.sourceDateEpoch !== undefined ? { sourceDateEpoch: opts.sourceDateEpoch } : {}),
    ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
  }
  // Platforms often share layers (the same base blob, the same context dir); make each once.
  const made = new Map<string, Promise<LayerRef>>()
  const layerRef = (src: LayerSource): Promise<LayerRef> => {
    const key = src.kind === 'dir' ? `dir:${src.dir}` : `blob:${src.descriptor.digest}`
    let p = made.get(key)
    if (p === undefined) {
      p = makeLayer(src)
      made.set(key, p)
    }
    return p
  }
  const makeLayer = async (src: LayerSource): Promise<LayerRef> => {
    if (src.kind === 'dir') return await createLayer(src.dir, layerOpts)
    const current = compressionOfMediaType(src.descriptor.mediaType)
    if (opts.forceCompression && current !== undefined && current !== opts.compression) {
      return await recompressLayer(src.descriptor, src.diffID, layerOpts)
    }
    return { descriptor: src.descriptor, diffID: src.diffID }
  }
  const images = await Promise.all(sources.map(async (src) => {
    const layers = await Promise.all(src.layers.map(layerRef))
    const platform = { os: src.config.os, architecture: src.config.architecture, ...(src.config.variant !== undefined ? { variant: src.config.variant } : {}) }
    const annotations = annotationsFor(opts.annotations, 'manifest', platform)
    return await writeImageManifest(opts.store, {
      config: src.config, layers, ociMediaTypes: opts.ociMediaTypes,
      ...(opts.sourceDateEpoch !== undefined ? { sourceDateEpoch: opts.sourceDateEpoch } : {}),
      ...(annotations !== undefined ? { annotations } : {}),
    })
  }))
  if (images.length === 1 && opts.attestations === undefined) return { root: images[0]!.manifest, images }
  const descriptors = images.map((i) => {
    const annotations = annotationsFor(opts.annotations, 'manifest-descriptor', i.platform)
    return annotations === undefined ? i.manifest : { ...i.manifest, annotations }
  })
  // As BuildKit: the attestation manifests follow the platform manifests, in the same order.
  const source = opts.attestations
  if (source !== undefined) {
    for (const i of images) {
      descriptors.push(await writeAttestationManifest(opts.store, source.statements(i.platform, imageSubjects(opts.names ?? [], i.platform, i.manifest)), i.manifest))
    }
  }
  const indexAnnotations = annotationsFor(opts.annotations, 'index')
  const root = await writeImageIndex(opts.store, descriptors, { ociMediaTypes: opts.ociMediaTypes, ...(indexAnnotations !== undefined ? { annotations: indexAnnotations } : {}) })
  return { root, images }
}
