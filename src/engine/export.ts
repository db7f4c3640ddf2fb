import { INDEX_MEDIA_TYPES, isAttestationEntry, type Descriptor, type ImageConfig, type ImageIndex, type ImageManifest } from '../common/oci.js'
import type { ContentProvider } from '../cache/content/index.js'
import type { Platform } from '../common/platform.js'
import type { Digest } from '../common/digest.js'
import { checkAnnotationLevels, type Annotation } from '../exporter/annotations.js'
import { compressionOfMediaType, compressTarStream, createExporter, layerTarStream, exportToRegistry, parseOutputSpec, prepareImages, withLayerTimes, type Compression, type ExportPool, type ImageSource, type LayerSource, type OutputSpec, type AttestationSource } from '../exporter/index.js'
import type { EventSink } from '../solver/events.js'
import { INLINE_CACHE_FIELD, encodeCacheConfig } from '../cache/remote/index.js'
import type { Services } from './services.js'
import { TsbuildError } from '../common/errors.js'
import { snapshotName } from '../cache/snapshots/index.js'
import { ANNOTATION_PULLED_FROM } from '../cache/index.js'
import { formatReference, parseReference, withDigest } from '../registry/index.js'

export interface PlatformImage {
  platform: Platform
  config: ImageConfig
  layers: string[] // snapshot names, bottom first
  /** With `--cache-to type=inline`: cache keys whose results are the first `depth` layers of this image. */
  inlineCache?: Array<{ key: Digest; depth: number; description?: string }>
}

export interface ExportedImage {
  /** Index (several platforms) or manifest digest. */
  descriptor?: Descriptor
  manifests: Array<{ platform: Platform; digest: Digest; config: Digest }>
  pushed: string[]
  stored: string[]
  /** Names written into oci and docker archives, fully qualified as BuildKit reports them. */
  archived: string[]
  outputs: string[]
}

interface ExportOptions {
  services: Services
  pool: ExportPool
  /** What to write, from outputSpecs (resolved before the build, so its errors come first). */
  specs: OutputSpec[]
  sourceDateEpoch?: number
  baseRefs: string[]
  emit: EventSink
  signal: AbortSignal
  /** Bring a blob known from an imported cache into the store; false when none lists it. */
  fetchBlob?: (desc: Descriptor) => Promise<boolean>
  /** Whether an imported cache lists the blob (so it can be fetched later, or never when a push finds it there). */
  isImportedBlob?: (desc: Descriptor) => boolean
  /** The registry reference of the imported cache that lists a blob: a push in the same registry mounts it from there. */
  blobSource?: (desc: Descriptor) => string | undefined
  /** Shared with the cache exporter, so a layer is archived once per build. */
  layerMemo?: Map<string, Promise<LayerSource>>
  /** `--provenance`: attached to every output that carries attestations. */
  attestations?: AttestationSource
}

export type LayerOptions = Pick<ExportOptions, 'services' | 'pool' | 'sourceDateEpoch' | 'signal' | 'fetchBlob' | 'isImportedBlob'> & {
  emit?: EventSink
  /**
   * A blob an imported cache lists is taken as it is, not fetched: for an
   * export that only pushes, which fetches it (beforeUpload) only when the
   * registry has it nowhere.
   */
  lazy?: boolean
}

/**
 * What a build writes: its `-o` outputs, else the image store for `-t` and
 * the registry for `--push`. As buildx fills them, `-t` names replace the
 * `name=` of every image output (image, registry, oci, docker).
 * A push without any name is refused here, so the build can check it before
 * any step runs.
 */
export function outputSpecs (outputs: readonly string[], tags: readonly string[], push: boolean, annotations: readonly Annotation[] = [], platforms = 1, provenance?: { inlineOnly: boolean }): OutputSpec[] {
  const specs: OutputSpec[] = outputs.map(parseOutputSpec)
  if (specs.length === 0 && (tags.length > 0 || push)) {
    specs.push({ type: 'image', push, names: [...tags], compression: 'gzip', forceCompression: false, ociMediaTypes: true, annotations: [], pushByDigest: false, nameCanonical: false })
  } else if (push && !specs.some((s) => s.type === 'image' || s.type === 'registry')) {
    specs.push({ type: 'registry', names: [...tags], compression: 'gzip', forceCompression: false, ociMediaTypes: true, annotations: [], pushByDigest: false, nameCanonical: false })
  }
  if (annotations.length > 0 && !specs.some((s) => 'annotations' in s)) {
    throw new TsbuildError('USAGE', '--annotation needs an image output to write it on: -t, --push, or -o type=image|registry|oci', { hint: 'type=local and type=tar write files, not an image' })
  }
  for (const spec of specs) {
    if ('annotations' in spec) {
      spec.annotations.push(...annotations)
      // An attestation makes the image an index, even of one platform (docker archives leave it out).
      const attests = provenance !== undefined && (spec.type === 'image' || spec.type === 'registry' || (spec.type === 'oci' && !provenance.inlineOnly))
      checkAnnotationLevels(spec.annotations, { type: spec.type, platforms, writesIndex: attests })
    }
    if ('names' in spec && tags.length > 0) spec.names.splice(0, spec.names.length, ...tags)
    // A bad name (`-t Org/App`, often a CI variable) fails now, as buildx checks its tags, not after every step ran.
    if ('names' in spec) {
      for (const name of spec.names) {
        // The digest is the build's result, unknown until it ends: a name carrying one would be stored or written as a lie.
        if (parseReference(name).digest !== undefined) throw new TsbuildError('USAGE', `invalid image name ${JSON.stringify(name)}: an output is named by repository and tag, not by digest`, { hint: 'drop the @sha256:… part' })
      }
    }
    // As BuildKit: a manifest pushed by digest has no tag, so a name that sets one is a mistake.
    const tagged = 'pushByDigest' in spec && spec.pushByDigest ? spec.names.find((n) => n.slice(n.lastIndexOf('/') + 1).split('@')[0]!.includes(':')) : undefined
    if (tagged !== undefined) throw new TsbuildError('USAGE', `push-by-digest=true pushes no tag, but the name ${JSON.stringify(tagged)} has one: name the repository alone`)
    if ((spec.type === 'registry' || (spec.type === 'image' && spec.push)) && spec.names.length === 0) {
      throw new TsbuildError('USAGE', 'pushing to a registry needs an image name: add name=REGISTRY/REPO:TAG to the output, or -t')
    }
  }
  return specs
}

/**
 * Turn solved results into what the user asked for. Each snapshot becomes a
 * layer blob once: the blob is remembered per snapshot and compression, so
 * rebuilds and re-exports reuse it, and base-image layers keep their
 * original blobs.
 */
export async function exportResults (images: PlatformImage[], opts: ExportOptions): Promise<ExportedImage> {
  const specs = opts.specs
  const out: ExportedImage = { manifests: [], pushed: [], stored: [], archived: [], outputs: [] }
  for (const spec of specs) {
    const compression: Compression = 'compression' in spec ? spec.compression : 'gzip'
    const force = 'forceCompression' in spec ? spec.forceCompression : false
    // A push needs a layer's bytes only when the registry has it nowhere: an export that pushes
    // leaves blobs of imported caches where they are (a fully cached CI run then downloads nothing).
    const pushes = spec.type === 'registry' || (spec.type === 'image' && spec.push)
    const sources = await imageSources(images, compression, force, opts, pushes && !force)
    const started = Date.now()
    opts.emit({ type: 'progress', id: `export-${spec.type}`, name: `exporting to ${spec.type === 'image' ? 'image' : spec.type}`, current: 0, time: started })
    if (spec.type === 'image' || spec.type === 'registry') {
      const prepared = await prepareImages(sources, {
        store: opts.services.content, pool: opts.pool, compression: spec.compression, forceCompression: spec.forceCompression, ociMediaTypes: spec.ociMediaTypes,
        ...(spec.compressionLevel !== undefined ? { compressionLevel: spec.compressionLevel } : {}),
        ...(opts.sourceDateEpoch !== undefined ? { sourceDateEpoch: opts.sourceDateEpoch } : {}),
        annotations: spec.annotations,
        signal: opts.signal,
        ...(opts.attestations !== undefined ? { attestations: opts.attestations, names: spec.names } : {}),
      })
      out.descriptor = prepared.root
      out.manifests = prepared.images.map((i) => ({ platform: i.platform, digest: i.manifest.digest, config: i.config.digest }))
      // Pushed first: the image stored next may lack layers the push found in the registry, which
      // are fetched from the reference it records; a push that fails stores nothing.
      let pushedTo: string | undefined
      if (spec.type === 'registry' || spec.push) {
        const beforeUpload = async (desc: Descriptor): Promise<void> => {
          if (await opts.services.content.info(desc.digest) === undefined) await opts.fetchBlob?.(desc)
        }
        const res = await exportToRegistry(prepared.root, { store: opts.services.content, client: opts.services.registry, names: spec.names, byDigest: spec.pushByDigest, sources: opts.baseRefs, signal: opts.signal, beforeUpload, ...(opts.blobSource !== undefined ? { blobSource: opts.blobSource } : {}) })
        out.pushed.push(...res.pushed)
        if (spec.nameCanonical) {
          for (const name of res.pushed) {
            const canonical = formatReference(withDigest(parseReference(name), prepared.root.digest))
            if (!out.pushed.includes(canonical)) out.pushed.push(canonical)
          }
        }
        pushedTo = res.pushed[0] !== undefined ? formatReference(withDigest(parseReference(res.pushed[0]), prepared.root.digest)) : undefined
      }
      if (spec.type === 'image') {
        const root = pushedTo === undefined ? prepared.root : { ...prepared.root, annotations: { ...prepared.root.annotations, [ANNOTATION_PULLED_FROM]: pushedTo } }
        for (const name of spec.names) { await opts.services.images.put(name, root); out.stored.push(name) }
      }
    } else {
      const res = await createExporter(spec).export(sources, {
        store: opts.services.content, pool: opts.pool, signal: opts.signal,
        ...(opts.sourceDateEpoch !== undefined ? { sourceDateEpoch: opts.sourceDateEpoch } : {}),
        ...(opts.attestations !== undefined ? { attestations: opts.attestations } : {}),
      })
      if (res.descriptor !== undefined && out.descriptor === undefined) {
        out.descriptor = res.descriptor
        out.manifests = await manifestsOf(res.descriptor, images, opts.services.content)
      }
      out.outputs.push(`${spec.type}:${spec.dest}`)
      if ('names' in spec) for (const name of spec.names) out.archived.push(formatReference(parseReference(name)))
    }
    opts.emit({ type: 'progress', id: `export-${spec.type}`, name: `exporting to ${spec.type === 'image' ? 'image' : spec.type}`, current: 1, total: 1, done: true, time: Date.now() })
  }
  return out
}

/**
 * Each platform's manifest and config digest under an exported root (index
 * or manifest), read back from the store, so the metadata file describes an
 * oci or docker archive as it does an image in the store.
 */
async function manifestsOf (root: Descriptor, images: readonly PlatformImage[], store: ContentProvider): Promise<ExportedImage['manifests']> {
  const configOf = async (manifest: Digest): Promise<Digest> => (JSON.parse((await store.readBytes(manifest)).toString('utf8')) as ImageManifest).config.digest
  if (!INDEX_MEDIA_TYPES.includes(root.mediaType)) {
    if (images.length !== 1) throw new Error(`an export of ${images.length} platforms has a manifest as its root`)
    return [{ platform: images[0]!.platform, digest: root.digest, config: await configOf(root.digest) }]
  }
  const index = JSON.parse((await store.readBytes(root.digest)).toString('utf8')) as ImageIndex
  return await Promise.all(index.manifests.flatMap((m) => m.platform === undefined || isAttestationEntry(m) ? [] : [{ platform: m.platform, digest: m.digest }])
    .map(async (m) => ({ ...m, config: await configOf(m.digest) })))
}

async function imageSources (images: PlatformImage[], compression: Compression, force: boolean, opts: ExportOptions, lazy: boolean): Promise<ImageSource[]> {
  const memo = opts.layerMemo ?? new Map<string, Promise<LayerSource>>()
  const layerSource = (name: string): Promise<LayerSource> => {
    const id = `${compression}:${String(force)}:${lazy ? 'lazy:' : ''}${name}`
    let p = memo.get(id)
    if (p === undefined) { p = makeLayerSource(name, compression, force, { ...opts, lazy }); memo.set(id, p) }
    return p
  }
  // Without SOURCE_DATE_EPOCH, history and image times come from when the layers were made, as in BuildKit.
  const now = new Date().toISOString()
  const sources = await Promise.all(images.map(async (img) => {
    const layers = await Promise.all(img.layers.map(layerSource))
    const times = opts.sourceDateEpoch !== undefined ? undefined : await Promise.all(img.layers.map(async (name) => await layerCreated(opts.services, name) ?? now))
    const config = times === undefined ? img.config : withLayerTimes(img.config, times)
    return { config: img.inlineCache === undefined ? config : withInlineCache(config, img.inlineCache, layers, times), layers }
  }))
  layersArchived(opts.emit)
  return sources
}

/**
 * Inline cache metadata in the image config: the image's own layers serve as
 * the cache's blobs, with the times the image's history took from them, so an
 * image rebuilt from this cache elsewhere gets the same times and digest.
 */
function withInlineCache (config: ImageConfig, entries: NonNullable<PlatformImage['inlineCache']>, layers: LayerSource[], times: readonly string[] | undefined): ImageConfig {
  const described = layers.map((l, i) => (l.kind === 'blob' ? { descriptor: l.descriptor, diffID: l.diffID, ...(times?.[i] !== undefined ? { createdAt: times[i] } : {}) } : undefined))
  const chains = entries.flatMap((e) => {
    const chain = described.slice(0, e.depth)
    return chain.every((l) => l !== undefined) ? [{ key: e.key, layers: chain, ...(e.description !== undefined ? { description: e.description } : {}) }] : []
  })
  return { ...config, [INLINE_CACHE_FIELD]: encodeCacheConfig(chains) } as ImageConfig
}

/**
 * When a layer was made: the time first recorded for its content (its diffID:
 * the first export of a layer with that content, or the imported cache that
 * brought it), else its snapshot's. Undefined for a layer known only by a
 * blob without a time.
 */
export async function layerCreated (services: Pick<Services, 'layerIndex' | 'snapshotter'>, name: string): Promise<string | undefined> {
  const info = await services.layerIndex.get(name)
  const byContent = info?.diffID !== undefined && info.diffID !== name ? await services.layerIndex.get(info.diffID) : undefined
  return byContent?.created ?? info?.created ?? (await services.snapshotter.stat(snapshotName(name)))?.created
}

/** One snapshot as a layer blob: a remembered blob when there is one, else archived now. */
export async function makeLayerSource (name: string, compression: Compression, force: boolean, opts: LayerOptions): Promise<LayerSource> {
  const { layerIndex, snapshotter, content } = opts.services
  // Pulled layers are named by their diffID and keep their blobs; a new layer under
  // SOURCE_DATE_EPOCH is archived again, with its times clamped.
  const info = opts.sourceDateEpoch === undefined || name.startsWith('sha256:') ? await layerIndex.get(name) : undefined
  if (info?.diffID !== undefined) {
    const exact = info.blobs.find((b) => compressionOfMediaType(b.mediaType) === compression)
    const usable = exact ?? (force ? undefined : info.blobs[0])
    // A stored blob counts only at its recorded size: one cut short (a full disk) is archived again.
    if (usable !== undefined && ((await content.info(usable.digest))?.size === usable.size || (opts.lazy === true && opts.isImportedBlob?.(usable) === true) || await opts.fetchBlob?.(usable) === true)) {
      return { kind: 'blob', descriptor: usable, diffID: info.diffID }
    }
  }
  const snap = await snapshotter.stat(name as never)
  if (snap === undefined) throw new Error(`snapshot ${name} is missing from the store`)
  const tar = layerTarStream(snap.diffPath, opts.sourceDateEpoch !== undefined ? { sourceDateEpoch: opts.sourceDateEpoch } : {})
  const layer = await compressTarStream(countBytes(tar, opts.emit ?? (() => {})), {
    compression, store: content, pool: opts.pool, ociMediaTypes: true, signal: opts.signal,
    ...(opts.sourceDateEpoch !== undefined ? { sourceDateEpoch: opts.sourceDateEpoch } : {}),
  })
  // Blobs made under SOURCE_DATE_EPOCH have clamped times: remember only the plain ones.
  if (opts.sourceDateEpoch === undefined) {
    await layerIndex.addBlob(name, layer.diffID, layer.descriptor, snap.created)
    // Also under the diffID: equal content made by two steps gets one time (the first recorded), the one an imported cache can carry.
    if (layer.diffID !== name) await layerIndex.addBlob(layer.diffID, layer.diffID, layer.descriptor, snap.created)
  }
  return { kind: 'blob', descriptor: layer.descriptor, diffID: layer.diffID }
}

/**
 * Pass a layer's tar through, reporting the bytes archived so far by every
 * layer of this process (layers are archived concurrently), at most every
 * 100 ms, as one "exporting layers" progress item.
 */
async function * countBytes (tar: AsyncIterable<Uint8Array>, emit: EventSink): AsyncGenerator<Uint8Array> {
  for await (const chunk of tar) {
    archived.bytes += chunk.length
    const now = Date.now()
    if (now - archived.reported >= 100) { archived.reported = now; emit({ type: 'progress', id: 'export-layers', name: 'exporting layers', current: archived.bytes, time: now }) }
    yield chunk
  }
}
const archived = { bytes: 0, reported: 0 }

/** The final "exporting layers" update, once every layer of an export is archived. */
function layersArchived (emit: EventSink): void {
  if (archived.bytes === 0) return
  emit({ type: 'progress', id: 'export-layers', name: 'exporting layers', current: archived.bytes, total: archived.bytes, done: true, time: Date.now() })
  archived.bytes = 0
}
