import { TsbuildError } from '../common/errors.js'
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest } from '../common/oci.js'
import { formatPlatform, normalizePlatform, platformEquals, type Platform } from '../common/platform.js'
import type { ContentStore } from '../cache/content/index.js'
import { fetchBlobToStore, fetchSmallBlob, mapLimit, type BlobReadOptions } from './blob.js'
import { MAX_MANIFEST_SIZE, fetchManifest, type FetchedManifest } from './manifest.js'
import { selectPlatformManifest } from './platformSelect.js'
import { familiarName, manifestReference, type ImageReference } from './reference.js'
import type { RegistryTransport } from './transport.js'

/** An image resolved for one platform. */
export interface ResolvedImage {
  ref: ImageReference
  /** What the tag (or digest) points at: an index or a single manifest. */
  descriptor: Descriptor
  /** Set when the reference names an index; `manifestDescriptor` is the entry chosen from it. */
  index?: ImageIndex
  manifestDescriptor: Descriptor
  manifest: ImageManifest
  config: ImageConfig
  /** The raw documents, keyed by digest, exactly as served (what the digests cover). */
  documents: ReadonlyMap<string, Buffer>
}

export interface ResolveOptions { signal?: AbortSignal }

/**
 * Resolve a reference to the manifest and config for `platform`. A single
 * manifest whose config names another platform is refused with
 * PLATFORM_NOT_FOUND rather than silently used.
 */
export async function resolveImage (transport: RegistryTransport, ref: ImageReference, platform: Platform | undefined, opts: ResolveOptions = {}): Promise<ResolvedImage> {
  const image = familiarName(ref)
  const documents = new Map<string, Buffer>()
  const root = await fetchManifest(transport, ref, manifestReference(ref), { signal: opts.signal })
  documents.set(root.descriptor.digest, root.bytes)
  let chosen: FetchedManifest = root
  let index: ImageIndex | undefined
  if (root.isIndex) {
    index = root.parsed as ImageIndex
    if (platform === undefined) throw new Error('resolveImage: a platform is required to resolve an index')
    const entry = selectPlatformManifest(index, platform, image)
    chosen = await fetchManifest(transport, ref, entry.digest, { signal: opts.signal, expected: entry })
    if (chosen.isIndex) throw new TsbuildError('UNSUPPORTED_MEDIA_TYPE', `image ${image}: index entry ${entry.digest} is itself an index (nested indexes are not supported)`)
    chosen = { ...chosen, descriptor: { ...chosen.descriptor, ...(entry.platform !== undefined ? { platform: entry.platform } : {}) } }
    documents.set(chosen.descriptor.digest, chosen.bytes)
  }
  const manifest = chosen.parsed as ImageManifest
  const configBytes = await fetchSmallBlob(transport, ref, manifest.config, MAX_MANIFEST_SIZE, { signal: opts.signal })
  documents.set(manifest.config.digest, configBytes)
  let config: ImageConfig
  try {
    config = JSON.parse(configBytes.toString('utf8')) as ImageConfig
  } catch (err) {
    throw new TsbuildError('UNSUPPORTED_MEDIA_TYPE', `image ${image}: config ${manifest.config.digest} is not valid JSON`, { cause: err })
  }
  if (!root.isIndex && platform !== undefined && config.os !== undefined && config.architecture !== undefined) {
    const have = normalizePlatform({ os: config.os, architecture: config.architecture, ...(config.variant !== undefined ? { variant: config.variant } : {}) })
    if (!platformEquals(have, platform)) {
      throw new TsbuildError('PLATFORM_NOT_FOUND', `image ${image} has no manifest for ${formatPlatform(normalizePlatform(platform))}; it has ${formatPlatform(have)}`)
    }
  }
  return { ref, descriptor: root.descriptor, ...(index !== undefined ? { index } : {}), manifestDescriptor: chosen.descriptor, manifest, config, documents }
}

export interface PullOptions extends BlobReadOptions {
  /** Layers downloaded at once. */
  concurrency?: number
}

/**
 * Resolve, then put everything one platform needs into the store: the root
 * document, the platform manifest, the config and every layer (in parallel,
 * bounded). Blobs already in the store are not fetched again.
 */
export async function pullImage (transport: RegistryTransport, ref: ImageReference, platform: Platform, store: ContentStore, opts: PullOptions = {}): Promise<ResolvedImage> {
  const resolved = await resolveImage(transport, ref, platform, opts)
  for (const [digest, bytes] of resolved.documents) {
    await store.writeBytes(bytes, { expected: { digest: digest as Descriptor['digest'], size: bytes.length }, signal: opts.signal })
  }
  await mapLimit(resolved.manifest.layers, opts.concurrency ?? 3,
    (layer, signal) => fetchBlobToStore(transport, ref, layer, store, { ...opts, signal }), opts.signal)
  return resolved
}
