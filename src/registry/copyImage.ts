import { Readable } from 'node:stream'
import type { Digest } from '../common/digest.js'
import { TsbuildError } from '../common/errors.js'
import type { Descriptor, ImageIndex, ImageManifest } from '../common/oci.js'
import type { ContentProvider } from '../cache/content/index.js'
import { mapLimit, readBlob, type BlobReadOptions } from './blob.js'
import { MANIFEST_ACCEPT, fetchManifest } from './manifest.js'
import { headExists, pushBlob, pushManifest, type PushOptions } from './push.js'
import { familiarName, type ImageReference } from './reference.js'
import type { RegistryTransport } from './transport.js'

/** What a copy did, for a progress line per image. */
export interface CopyResult {
  manifests: number
  blobs: { exists: number; mounted: number; uploaded: number }
}

/** HEAD a manifest: true when the repository already has it (then it has everything it refers to). */
export async function manifestExists (transport: RegistryTransport, ref: ImageReference, digest: Digest, signal?: AbortSignal): Promise<boolean> {
  // Without an Accept that lists OCI types, distribution answers 404 for an OCI manifest it has.
  return await headExists(transport, ref, 'manifests', digest, { accept: MANIFEST_ACCEPT }, signal)
}

/**
 * Copy the image `desc` (a manifest or an index, with everything under it)
 * from one repository to another, pushed by digest only. A manifest the
 * target has is skipped with all it refers to (a registry accepts a manifest
 * only once its blobs are there). Blobs in the same registry are mounted
 * when it allows; otherwise they stream from source to target, never held
 * whole in memory beyond the upload's chunk size.
 */
export async function copyImage (transport: RegistryTransport, from: ImageReference, desc: Descriptor, to: ImageReference, opts: PushOptions = {}): Promise<CopyResult> {
  const result: CopyResult = { manifests: 0, blobs: { exists: 0, mounted: 0, uploaded: 0 } }
  const sameRegistry = from.registry === to.registry
  const copyTree = async (d: Descriptor): Promise<void> => {
    if (await manifestExists(transport, to, d.digest, opts.signal)) return
    const doc = await fetchManifest(transport, from, d.digest, { expected: d, ...(opts.signal !== undefined ? { signal: opts.signal } : {}) })
    if (doc.isIndex) {
      for (const child of (doc.parsed as ImageIndex).manifests) await copyTree(child)
    } else {
      const m = doc.parsed as ImageManifest
      const blobs = [m.config, ...m.layers]
      const source = remoteBlobs(transport, from, blobs, opts)
      const outcomes = await mapLimit(blobs, opts.concurrency ?? 3, (blob, signal) => pushBlob(transport, to, blob, source, {
        ...opts, signal, ...(sameRegistry ? { mountFrom: from.repository } : {}),
      }), opts.signal)
      for (const o of outcomes) result.blobs[o]++
    }
    await pushManifest(transport, to, doc.bytes, doc.descriptor.mediaType, d.digest, opts)
    result.manifests++
  }
  await copyTree(desc)
  return result
}

/** The blobs of one manifest, read from the source registry as an upload asks for them. */
function remoteBlobs (transport: RegistryTransport, from: ImageReference, blobs: readonly Descriptor[], opts: BlobReadOptions): ContentProvider {
  const byDigest = new Map(blobs.map((b) => [b.digest as string, b]))
  const known = (digest: Digest): Descriptor => {
    const d = byDigest.get(digest)
    if (d === undefined) throw new Error(`copyImage: blob ${digest} is not one of the manifest's`)
    return d
  }
  const readOpts: BlobReadOptions = opts.signal !== undefined ? { signal: opts.signal } : {}
  return {
    info: async (digest) => { const d = byDigest.get(digest); return d === undefined ? undefined : { digest: d.digest, size: d.size } },
    read: (digest) => Readable.from(readBlob(transport, from, known(digest), readOpts)),
    readBytes: async (digest, o = {}) => {
      const d = known(digest)
      const max = o.maxSize ?? 4 * 1024 * 1024
      if (d.size > max) throw new TsbuildError('TOO_LARGE', `image ${familiarName(from)}: blob ${digest} is ${d.size} bytes, over the ${max}-byte limit`)
      const chunks: Uint8Array[] = []
      for await (const c of readBlob(transport, from, d, readOpts)) chunks.push(c)
      return Buffer.concat(chunks)
    },
    path: (digest) => { throw new Error(`copyImage: blob ${digest} lives in ${familiarName(from)}, not on disk`) },
  }
}
