import { ANNOTATION_PULLED_FROM, readImageConfig, resolveManifest, type ContentStore, type ImageStore } from '../../cache/index.js'
import type { Digest } from '../../common/digest.js'
import { TsbuildError, hasCode } from '../../common/errors.js'
import { MediaType, type Descriptor, type ImageConfig, type ImageManifest } from '../../common/oci.js'
import { formatPlatform, normalizePlatform, type Platform } from '../../common/platform.js'
import { familiarName, formatReference, parseReference, type ImageReference, type RegistryClient } from '../../registry/index.js'
import { copyLayoutBlobs, parseOciLayoutRef, resolveOciLayout } from './ociLayout.js'
import { fetchStoredLayer } from './storedLayers.js'

/**
 * What the Dockerfile converter needs to know about a base image: its config
 * (ENV, WORKDIR, USER, …) and the platform manifest digest that pins it.
 */
export interface ImageMetaResolver {
  resolveImageConfig (ref: string, opts: { platform: Platform }): Promise<{ ref: string; digest: Digest; config: ImageConfig }>
}

/** One layer of a base image: the blob as stored, and the digest of its uncompressed tar. */
export interface ImageLayer {
  descriptor: Descriptor
  diffID: Digest
}

/** A base image resolved for one platform. */
export interface ResolvedSourceImage {
  /** Fully qualified reference as written (`docker.io/library/busybox:latest`, or `oci-layout://<dir>:<tag>`). */
  ref: string
  /** For an OCI layout: registry `oci-layout`, the directory as repository (a layout has no registry). */
  reference: ImageReference
  /** Where the manifest came from: the local image store, the registry, or an OCI layout directory. */
  origin: 'local' | 'registry' | 'oci-layout'
  /** A local image's registry origin (ANNOTATION_PULLED_FROM): where layers it lacks are fetched from. */
  pulledFrom?: ImageReference
  /** For origin `oci-layout`: the layout directory blobs are copied from. */
  layoutDir?: string
  /** The platform manifest (its digest pins the image in cache keys). */
  manifestDescriptor: Descriptor
  /** What the name points at: an index or the manifest itself. */
  rootDescriptor: Descriptor
  manifest: ImageManifest
  config: ImageConfig
  /** The raw documents fetched from a registry, by digest (empty for local images). */
  documents: ReadonlyMap<string, Buffer>
}

export interface ImageSourceOptions {
  images: ImageStore
  content: ContentStore
  registry: RegistryClient
  signal?: AbortSignal
  /** `--pull`: a name is always resolved at its registry (one pinned by digest may still come from the store: same content). */
  pull?: boolean
}

/**
 * Base images for one build. A name resolves from the local image store
 * first, then from its registry, as `docker build` does, so an image that
 * exists only locally works offline; with `pull`, from its registry only. Resolutions are cached for the life of
 * the instance (one build): every stage and vertex naming the same image on
 * the same platform sees the same digest, even if the tag moves meanwhile.
 */
export class ImageSource implements ImageMetaResolver {
  private readonly resolutions = new Map<string, Promise<ResolvedSourceImage>>()
  private readonly pulls = new Map<string, Promise<ResolvedSourceImage>>()

  constructor (private readonly opts: ImageSourceOptions) {}

  async resolveImageConfig (ref: string, opts: { platform: Platform }): Promise<{ ref: string; digest: Digest; config: ImageConfig }> {
    const r = await this.resolve(ref, opts.platform)
    return { ref: r.ref, digest: r.manifestDescriptor.digest, config: r.config }
  }

  /** Resolve without downloading layers (cached per reference and platform). */
  resolve (ref: string, platform: Platform): Promise<ResolvedSourceImage> {
    const key = cacheKey(ref, platform)
    let p = this.resolutions.get(key)
    if (p === undefined) {
      p = this.resolveUncached(ref, normalizePlatform(platform))
      this.resolutions.set(key, p)
      p.catch(() => this.resolutions.delete(key)) // a failure is not remembered: the next caller tries again
    }
    return p
  }

  /**
   * Make sure the manifest, config and every layer blob of the image are in
   * the content store (fetching only what is missing), and return it.
   */
  pull (ref: string, platform: Platform): Promise<ResolvedSourceImage> {
    const key = cacheKey(ref, platform)
    let p = this.pulls.get(key)
    if (p === undefined) {
      p = this.resolve(ref, platform).then(async (r) => { await this.fetchMissing(r); return r })
      this.pulls.set(key, p)
      p.catch(() => this.pulls.delete(key))
    }
    return p
  }

  /** The image's layers, lowest first, each with its diffID; the blobs are in the content store. */
  async layers (ref: string, platform: Platform): Promise<ImageLayer[]> {
    return imageLayers(await this.pull(ref, platform))
  }

  private async resolveUncached (input: string, platform: Platform): Promise<ResolvedSourceImage> {
    const layoutRef = parseOciLayoutRef(input)
    if (layoutRef !== undefined) {
      const img = await resolveOciLayout(layoutRef, platform)
      return {
        ref: input, reference: { registry: 'oci-layout', repository: layoutRef.dir, ...(layoutRef.tag !== undefined ? { tag: layoutRef.tag } : {}), ...(layoutRef.digest !== undefined ? { digest: layoutRef.digest } : {}) },
        origin: 'oci-layout', layoutDir: layoutRef.dir, manifestDescriptor: img.manifestDescriptor, rootDescriptor: img.root,
        manifest: img.manifest, config: img.config, documents: img.documents,
      }
    }
    const reference = parseReference(input)
    const ref = formatReference(reference)
    let localError: unknown
    if (this.opts.pull !== true || reference.digest !== undefined) {
      try {
        const local = await this.resolveLocal(reference, ref, platform)
        if (local !== undefined) return local
      } catch (err) {
        // A local image without this platform: the registry may still have it.
        if (!hasCode(err, 'PLATFORM_NOT_FOUND')) throw err
        localError = err
      }
    }
    try {
      const r = await this.opts.registry.resolve(reference, platform, { ...(this.opts.signal !== undefined ? { signal: this.opts.signal } : {}) })
      return {
        ref, reference, origin: 'registry', manifestDescriptor: r.manifestDescriptor, rootDescriptor: r.descriptor,
        manifest: r.manifest, config: r.config, documents: r.documents,
      }
    } catch (err) {
      if (localError !== undefined && !hasCode(err, 'PLATFORM_NOT_FOUND')) throw localError
      throw err
    }
  }

  private async resolveLocal (reference: ImageReference, ref: string, platform: Platform): Promise<ResolvedSourceImage | undefined> {
    const stored = await this.opts.images.find(ref)
    // A reference pinned by digest (as the converter pins base images) is local when the content store has that document.
    const root = stored?.descriptor ?? (reference.digest !== undefined ? await this.storedDocument(reference.digest) : undefined)
    if (root === undefined) return undefined
    const name = familiarName(reference)
    let found: Awaited<ReturnType<typeof resolveManifest>>
    let config: ImageConfig
    try {
      found = await resolveManifest(this.opts.content, root, { platform, imageName: name })
      config = await readImageConfig(this.opts.content, found.manifest)
    } catch (err) {
      // Another build may be storing this document's manifest and config right now:
      // a digest-pinned reference then comes from the registry instead.
      if (stored === undefined && hasCode(err, 'NOT_FOUND')) return undefined
      throw err
    }
    const pulledFrom = stored?.descriptor.annotations?.[ANNOTATION_PULLED_FROM]
    return {
      ...(pulledFrom !== undefined ? { pulledFrom: parseReference(pulledFrom) } : {}),
      ref, reference, origin: 'local', manifestDescriptor: found.descriptor, rootDescriptor: root,
      manifest: found.manifest, config, documents: new Map(),
    }
  }

  private async storedDocument (digest: Digest): Promise<Descriptor | undefined> {
    const info = await this.opts.content.info(digest)
    if (info === undefined) return undefined
    let doc: { mediaType?: string; manifests?: unknown }
    try {
      doc = JSON.parse((await this.opts.content.readBytes(digest)).toString('utf8')) as typeof doc
    } catch {
      return undefined // not a manifest (a layer, say): let the registry answer for the digest
    }
    const mediaType = doc.mediaType ?? (Array.isArray(doc.manifests) ? MediaType.ociIndex : MediaType.ociManifest)
    return { mediaType, digest, size: info.size }
  }

  private async fetchMissing (r: ResolvedSourceImage): Promise<void> {
    const { content, registry } = this.opts
    const signal = this.opts.signal !== undefined ? { signal: this.opts.signal } : {}
    // The root document last: a concurrent build that finds it also finds what it refers to.
    const docs = [...r.documents].sort(([a], [b]) => Number(a === r.rootDescriptor.digest) - Number(b === r.rootDescriptor.digest))
    for (const [digest, bytes] of docs) {
      await content.writeBytes(bytes, { expected: { digest: digest as Digest, size: bytes.length }, ...signal })
    }
    const missing: Descriptor[] = []
    for (const layer of r.manifest.layers) {
      // A blob cut short (a full disk, once) is as good as missing: fetched again.
      const info = await content.info(layer.digest)
      if (info === undefined || info.size !== layer.size) missing.push(layer)
    }
    if (missing.length === 0) return
    if (r.layoutDir !== undefined) {
      await copyLayoutBlobs(r.layoutDir, content, missing, this.opts.signal)
      return
    }
    // A local image may lack layers (e.g. a manifest seeded without blobs): fetch them from where the name points.
    const from = r.origin === 'local' ? (r.pulledFrom ?? r.reference) : { registry: r.reference.registry, repository: r.reference.repository, digest: r.manifestDescriptor.digest }
    await Promise.all(missing.map(async (layer) => {
      if (r.origin === 'local') await fetchStoredLayer(registry, from, layer, content, familiarName(r.reference), this.opts.signal)
      else await registry.fetchBlob(from, layer, content, signal)
    }))
  }
}

/** Layers zipped with the config's diffIDs; a count mismatch means a broken image. */
export function imageLayers (r: Pick<ResolvedSourceImage, 'manifest' | 'config' | 'ref'>): ImageLayer[] {
  const diffIDs = r.config.rootfs?.diff_ids ?? []
  if (diffIDs.length !== r.manifest.layers.length) {
    throw new TsbuildError('UNSUPPORTED_MEDIA_TYPE', `image ${r.ref}: the manifest has ${r.manifest.layers.length} layers but the config lists ${diffIDs.length} diff_ids`)
  }
  return r.manifest.layers.map((descriptor, i) => ({ descriptor, diffID: diffIDs[i]! }))
}

function cacheKey (ref: string, platform: Platform): string {
  return `${ref}\0${formatPlatform(normalizePlatform(platform))}`
}
