import { copyFile, rename, writeFile } from 'node:fs/promises'
import { ensureDir } from '../common/ensureDir.js'
import { join } from 'node:path'
import type { ContentProvider } from '../cache/content/index.js'
import { canonicalJson, digestHex } from '../common/digest.js'
import type { Digest } from '../common/digest.js'
import { ANNOTATION_REF_NAME, INDEX_MEDIA_TYPES, MANIFEST_MEDIA_TYPES, MediaType } from '../common/oci.js'
import type { Descriptor, ImageIndex, ImageManifest } from '../common/oci.js'
import { formatReference, parseReference } from '../registry/index.js'
import { writeArchive } from './archive.js'
import type { ArchiveMember } from './archive.js'

const CONTAINERD_IMAGE_NAME = 'io.containerd.image.name'

/** Every blob reachable from `root` (itself included), each once, in a stable order. */
export async function reachableBlobs (store: ContentProvider, root: Descriptor): Promise<Descriptor[]> {
  const seen = new Map<Digest, Descriptor>()
  const visit = async (d: Descriptor): Promise<void> => {
    if (seen.has(d.digest)) return
    seen.set(d.digest, d)
    if (INDEX_MEDIA_TYPES.includes(d.mediaType)) {
      const index = JSON.parse((await store.readBytes(d.digest)).toString()) as ImageIndex
      for (const m of index.manifests) await visit(m)
    } else if (MANIFEST_MEDIA_TYPES.includes(d.mediaType)) {
      const manifest = JSON.parse((await store.readBytes(d.digest)).toString()) as ImageManifest
      await visit(manifest.config)
      for (const l of manifest.layers) await visit(l)
    }
  }
  await visit(root)
  return [...seen.values()]
}

/**
 * `index.json` of the layout: the root once per name. As BuildKit writes it, the containerd
 * annotation holds the fully qualified name (`app:1` → `docker.io/library/app:1`), which is
 * what `docker load` and `ctr import` name the image by, and ref.name holds the tag alone.
 */
export function layoutIndex (root: Descriptor, names: readonly string[]): ImageIndex {
  const manifests = names.length === 0
    ? [root]
    : names.map((name) => {
      const full = formatReference(parseReference(name))
      return { ...root, annotations: { ...root.annotations, [CONTAINERD_IMAGE_NAME]: full, [ANNOTATION_REF_NAME]: tagOf(full) } }
    })
  return { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests }
}

function tagOf (name: string): string {
  const lastSlash = name.lastIndexOf('/')
  const colon = name.indexOf(':', lastSlash + 1)
  return colon === -1 ? 'latest' : name.slice(colon + 1).split('@')[0]!
}

export interface OciLayoutOptions {
  names: readonly string[]
  /** mtime of every archive member (SOURCE_DATE_EPOCH, else 0) */
  mtime: number
  stdout?: NodeJS.WritableStream
}

/** Write an OCI image layout as a tar (`dest` a file or `-`). */
export async function writeOciArchive (store: ContentProvider, root: Descriptor, dest: string, opts: OciLayoutOptions): Promise<void> {
  const blobs = await reachableBlobs(store, root)
  const members: ArchiveMember[] = [
    { name: 'oci-layout', kind: 'bytes', data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
    { name: 'index.json', kind: 'bytes', data: Buffer.from(canonicalJson(layoutIndex(root, opts.names))) },
    { name: 'blobs', kind: 'dir' },
    { name: 'blobs/sha256', kind: 'dir' },
    ...blobs.map((b): ArchiveMember => ({ name: `blobs/sha256/${digestHex(b.digest)}`, kind: 'file', size: b.size, path: store.path(b.digest) })),
  ]
  await writeArchive(dest, members, { mtime: opts.mtime, ...(opts.stdout !== undefined ? { stdout: opts.stdout } : {}) })
}

/**
 * Write an OCI image layout into a directory. Blobs already present are kept
 * (a layout may collect several exports); index.json is replaced last, so a
 * reader never sees an index that names missing blobs.
 */
export async function writeOciDirectory (store: ContentProvider, root: Descriptor, dest: string, opts: { names: readonly string[] }): Promise<void> {
  const blobDir = join(dest, 'blobs', 'sha256')
  await ensureDir(blobDir)
  for (const b of await reachableBlobs(store, root)) {
    const target = join(blobDir, digestHex(b.digest))
    const tmp = `${target}.tmp-${process.pid}`
    await copyFile(store.path(b.digest), tmp)
    await rename(tmp, target)
  }
  await writeFile(join(dest, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}')
  const tmpIndex = join(dest, `index.json.tmp-${process.pid}`)
  await writeFile(tmpIndex, canonicalJson(layoutIndex(root, opts.names)))
  await rename(tmpIndex, join(dest, 'index.json'))
}
