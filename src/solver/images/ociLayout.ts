import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { LocalContentStore, readImageConfig, resolveManifest, type ContentStore } from '../../cache/index.js'
import { isDigest, type Digest } from '../../common/digest.js'
import { TsbuildError } from '../../common/errors.js'
import { ANNOTATION_REF_NAME, MediaType, type Descriptor, type ImageIndex } from '../../common/oci.js'
import type { Platform } from '../../common/platform.js'

export const OCI_LAYOUT_SCHEME = 'oci-layout://'

/**
 * `oci-layout://<dir>[:<tag>][@<digest>]`, as the Dockerfile converter writes
 * named contexts backed by an OCI image layout. The digest, when present,
 * pins the image; otherwise the tag (default `latest`) is looked up in the
 * layout's index.json by its `org.opencontainers.image.ref.name`.
 */
export interface OciLayoutRef {
  dir: string
  tag?: string
  digest?: Digest
}

export function parseOciLayoutRef (ref: string): OciLayoutRef | undefined {
  if (!ref.startsWith(OCI_LAYOUT_SCHEME)) return undefined
  let rest = ref.slice(OCI_LAYOUT_SCHEME.length)
  let digest: Digest | undefined
  const at = rest.lastIndexOf('@')
  if (at !== -1 && isDigest(rest.slice(at + 1))) {
    digest = rest.slice(at + 1) as Digest
    rest = rest.slice(0, at)
  }
  const colon = rest.lastIndexOf(':')
  const tag = colon > rest.lastIndexOf('/') ? rest.slice(colon + 1) : undefined
  const dir = tag !== undefined ? rest.slice(0, colon) : rest
  if (dir === '') throw new TsbuildError('INVALID_REFERENCE', `invalid OCI layout reference ${JSON.stringify(ref)}: no directory`)
  return { dir, ...(tag !== undefined && tag !== '' ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) }
}

export interface LayoutImage {
  store: ContentStore
  root: Descriptor
  manifestDescriptor: Descriptor
  manifest: Awaited<ReturnType<typeof resolveManifest>>['manifest']
  config: Awaited<ReturnType<typeof readImageConfig>>
  /** The root, manifest and config documents, by digest, to copy into the build's content store. */
  documents: Map<string, Buffer>
}

/** Find the image for `platform` in the layout (blobs are read in place, nothing is copied yet). */
export async function resolveOciLayout (ref: OciLayoutRef, platform: Platform): Promise<LayoutImage> {
  const store = new LocalContentStore(ref.dir)
  const display = `${OCI_LAYOUT_SCHEME}${ref.dir}${ref.tag !== undefined ? `:${ref.tag}` : ''}`
  let root: Descriptor
  if (ref.digest !== undefined) {
    const info = await store.info(ref.digest)
    if (info === undefined) throw new TsbuildError('NOT_FOUND', `${display}: the layout has no blob ${ref.digest}`)
    const doc = JSON.parse((await store.readBytes(ref.digest)).toString('utf8')) as { mediaType?: string; manifests?: unknown }
    root = { mediaType: doc.mediaType ?? (Array.isArray(doc.manifests) ? MediaType.ociIndex : MediaType.ociManifest), digest: ref.digest, size: info.size }
  } else {
    let index: ImageIndex
    try {
      index = JSON.parse(await readFile(join(ref.dir, 'index.json'), 'utf8')) as ImageIndex
    } catch (err) {
      throw new TsbuildError('NOT_FOUND', `${display}: ${ref.dir} is not an OCI image layout (no readable index.json)`, { cause: err })
    }
    const tag = ref.tag ?? 'latest'
    const byTag = index.manifests.filter((m) => m.annotations?.[ANNOTATION_REF_NAME] === tag)
    const chosen = byTag[0] ?? (ref.tag === undefined && index.manifests.length === 1 ? index.manifests[0] : undefined)
    if (chosen === undefined) {
      const tags = index.manifests.map((m) => m.annotations?.[ANNOTATION_REF_NAME]).filter((t) => t !== undefined)
      throw new TsbuildError('NOT_FOUND', `${display}: no image tagged ${tag} in the layout; it has ${tags.join(', ') || 'no tags'}`)
    }
    root = { mediaType: chosen.mediaType, digest: chosen.digest, size: chosen.size }
  }
  const found = await resolveManifest(store, root, { platform, imageName: display })
  const config = await readImageConfig(store, found.manifest)
  const documents = new Map<string, Buffer>()
  for (const d of [root, found.descriptor, found.manifest.config]) documents.set(d.digest, await store.readBytes(d.digest))
  return { store, root, manifestDescriptor: found.descriptor, manifest: found.manifest, config, documents }
}

/** Copy `blobs` from the layout into `content`, verifying each against its descriptor. */
export async function copyLayoutBlobs (layoutDir: string, content: ContentStore, blobs: readonly Descriptor[], signal?: AbortSignal): Promise<void> {
  const layout = new LocalContentStore(layoutDir)
  for (const b of blobs) {
    if (await layout.info(b.digest) === undefined) throw new TsbuildError('NOT_FOUND', `${OCI_LAYOUT_SCHEME}${layoutDir}: the layout has no blob ${b.digest}`)
    await content.write(layout.read(b.digest), { expected: { digest: b.digest, size: b.size }, ...(signal !== undefined ? { signal } : {}) })
  }
}
