import { sha256, type Digest } from '../common/digest.js'
import { TsbuildError } from '../common/errors.js'
import type { Descriptor, ImageIndex, ImageManifest } from '../common/oci.js'
import type { ContentProvider } from '../cache/content/index.js'
import { mapLimit, type BlobProgress } from './blob.js'
import { MAX_MANIFEST_SIZE, parseManifestBytes } from './manifest.js'
import { familiarName, manifestReference, type ImageReference } from './reference.js'
import { discard, errorFromResponse, type RegistryTransport } from './transport.js'

export interface PushOptions {
  signal?: AbortSignal
  onProgress?: (p: BlobProgress) => void
  /** Blobs up to this size go in one PUT; bigger ones in PATCH chunks of this size. */
  chunkSize?: number
  /** Blobs uploaded at once. */
  concurrency?: number
  /** A repository in the same registry that may already hold the blobs (cross-repository mount). */
  mountFrom?: string
  /** Per blob, a better mount source than mountFrom (e.g. the cache repository that lists it). */
  mountFromFor?: (desc: Descriptor) => string | undefined
  /**
   * Called before a blob's bytes are read for an upload (the repository does
   * not have it and no mount served): a blob known only from an imported
   * cache is fetched here, so one the registry already has is never downloaded.
   */
  beforeUpload?: (desc: Descriptor) => Promise<void>
}

export const DEFAULT_CHUNK_SIZE = 16 * 1024 * 1024

export type BlobPushResult = 'exists' | 'mounted' | 'uploaded'

/** HEAD the blob: true when the repository already has it. */
export async function blobExists (transport: RegistryTransport, ref: ImageReference, digest: Digest, signal?: AbortSignal): Promise<boolean> {
  return await headExists(transport, ref, 'blobs', digest, {}, signal)
}

/** HEAD a blob or manifest by digest with push rights: true when present, false on 404, else the registry's error. */
export async function headExists (transport: RegistryTransport, ref: ImageReference, kind: 'blobs' | 'manifests', digest: Digest, headers: Record<string, string>, signal?: AbortSignal): Promise<boolean> {
  const res = await transport.send({ ref, actions: 'push' }, { method: 'HEAD', url: `/v2/${ref.repository}/${kind}/${digest}`, headers, signal })
  await discard(res)
  if (res.status === 404) return false
  if (res.ok) return true
  throw await errorFromResponse(res, `image ${familiarName(ref)}: ${kind === 'blobs' ? 'blob' : 'manifest'} ${digest}`)
}

/**
 * Make sure the repository has the blob: skip when present, else try a
 * cross-repository mount, else upload it (one PUT, or PATCH chunks with
 * Content-Range for blobs over `chunkSize`).
 *
 * A chunked upload that breaks part-way (the transport's own retries spent,
 * or the registry refusing the session, as distribution does once it holds
 * more bytes than the client's upload state says) starts again in a new
 * upload session: the registry may have kept a partial chunk, and a new
 * session is the one resumption every registry supports.
 */
export async function pushBlob (transport: RegistryTransport, ref: ImageReference, desc: Descriptor, content: ContentProvider, opts: PushOptions = {}): Promise<BlobPushResult> {
  const what = `image ${familiarName(ref)}: blob ${desc.digest}`
  if (await blobExists(transport, ref, desc.digest, opts.signal)) return 'exists'
  for (let session = 1; ; session++) {
    try {
      return await uploadSession(transport, ref, desc, content, opts, what)
    } catch (err) {
      if (!(err instanceof UploadBroke) || session >= UPLOAD_SESSIONS) throw err instanceof UploadBroke ? err.cause : err
    }
  }
}

/** New upload sessions tried for one blob before its push fails. */
const UPLOAD_SESSIONS = 3

/** A chunk upload failed in a way a fresh session may get past; `cause` is what to report if none does. */
class UploadBroke extends Error {
  constructor (override readonly cause: TsbuildError) { super(cause.message) }
}

async function uploadSession (transport: RegistryTransport, ref: ImageReference, desc: Descriptor, content: ContentProvider, opts: PushOptions, what: string): Promise<BlobPushResult> {
  const from = opts.mountFromFor?.(desc) ?? opts.mountFrom
  const mount = from !== undefined && from !== ref.repository
    ? `?mount=${encodeURIComponent(desc.digest)}&from=${encodeURIComponent(from)}`
    : ''
  const target = { ref, actions: 'push' as const, extraScopes: mount !== '' ? [`repository:${from}:pull`] : [] }
  const started = await transport.send(target, { method: 'POST', url: `/v2/${ref.repository}/blobs/uploads/${mount}`, headers: { 'content-length': '0' }, signal: opts.signal })
  if (started.status === 201 && mount !== '') { await discard(started); return 'mounted' }
  if (started.status !== 202) throw await errorFromResponse(started, `${what}: starting the upload`)
  await discard(started)
  let location = uploadLocation(transport, ref, started, what)
  if (opts.beforeUpload !== undefined) {
    try {
      await opts.beforeUpload(desc)
    } catch (err) {
      // The session opened for nothing: cancel it (best effort; registries also expire them).
      await transport.send({ ref, actions: 'push' }, { method: 'DELETE', url: location.href, signal: opts.signal }).then(discard, () => {})
      throw err
    }
  }
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE
  const progress = (done: number): void => opts.onProgress?.({ direction: 'push', image: familiarName(ref), digest: desc.digest, done, total: desc.size })

  let finalBody: Uint8Array | undefined
  if (desc.size <= chunkSize) {
    finalBody = await content.readBytes(desc.digest, { maxSize: chunkSize })
  } else {
    let offset = 0
    for await (const chunk of chunked(content.read(desc.digest), chunkSize)) {
      const range = `${offset}-${offset + chunk.length - 1}`
      let res: Response
      try {
        res = await transport.send({ ref, actions: 'push' }, {
          method: 'PATCH',
          url: location.href,
          headers: { 'content-type': 'application/octet-stream', 'content-range': range, 'content-length': String(chunk.length) },
          body: chunk,
          signal: opts.signal,
        })
      } catch (err) {
        if (err instanceof TsbuildError && err.code === 'UNAVAILABLE') throw new UploadBroke(err)
        throw err
      }
      if (res.status !== 202) {
        const err = await errorFromResponse(res, `${what}: uploading bytes ${range}`)
        throw err.code === 'UNAUTHORIZED' ? err : new UploadBroke(err)
      }
      await discard(res)
      location = uploadLocation(transport, ref, res, what)
      offset += chunk.length
      progress(offset)
    }
    if (offset !== desc.size) throw new TsbuildError('SIZE_MISMATCH', `${what}: the local blob has ${offset} bytes, its descriptor says ${desc.size}`)
  }
  location.searchParams.set('digest', desc.digest)
  const done = await transport.send({ ref, actions: 'push' }, {
    method: 'PUT',
    url: location.href,
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(finalBody?.length ?? 0) },
    ...(finalBody !== undefined ? { body: finalBody } : {}),
    signal: opts.signal,
  })
  if (done.status !== 201) {
    const err = await errorFromResponse(done, `${what}: completing the upload`)
    if (/DIGEST_INVALID|digest/i.test(err.message)) throw new TsbuildError('DIGEST_MISMATCH', `${what}: the registry computed a different digest for the uploaded bytes`, { cause: err })
    throw err
  }
  await discard(done)
  progress(desc.size)
  return 'uploaded'
}

function uploadLocation (transport: RegistryTransport, ref: ImageReference, res: Response, what: string): URL {
  const loc = res.headers.get('location')
  if (loc === null) throw new TsbuildError('UNAVAILABLE', `${what}: registry sent no upload Location`)
  return new URL(loc, transport.baseUrl(ref.registry))
}

async function * chunked (source: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = []
  let have = 0
  for await (const c of source) {
    let buf = Buffer.from(c)
    while (have + buf.length >= size) {
      const take = size - have
      parts.push(buf.subarray(0, take))
      yield Buffer.concat(parts)
      parts = []
      have = 0
      buf = buf.subarray(take)
    }
    if (buf.length > 0) { parts.push(buf); have += buf.length }
  }
  if (have > 0) yield Buffer.concat(parts)
}

/** PUT a manifest or index under a tag or digest; returns its digest. */
export async function pushManifest (transport: RegistryTransport, ref: ImageReference, bytes: Uint8Array, mediaType: string, reference: string, opts: { signal?: AbortSignal } = {}): Promise<Digest> {
  const digest = sha256(bytes)
  const res = await transport.send({ ref, actions: 'push' }, {
    method: 'PUT',
    url: `/v2/${ref.repository}/manifests/${reference}`,
    headers: { 'content-type': mediaType, 'content-length': String(bytes.length) },
    body: bytes,
    signal: opts.signal,
  })
  if (res.status !== 201 && res.status !== 200) throw await errorFromResponse(res, `image ${familiarName(ref)}: pushing manifest ${digest}`)
  await discard(res)
  const echoed = res.headers.get('docker-content-digest')
  if (echoed !== null && echoed !== digest) throw new TsbuildError('DIGEST_MISMATCH', `image ${familiarName(ref)}: registry stored manifest as ${echoed}, expected ${digest}`)
  return digest
}

/**
 * Push an image from the store: for an index, each platform manifest (its
 * config and layers first, then the manifest by digest), then the index; the
 * root goes under the reference's tag (or its digest when it has no tag).
 */
export async function pushImage (transport: RegistryTransport, store: ContentProvider, root: Descriptor, ref: ImageReference, opts: PushOptions = {}): Promise<Descriptor> {
  const image = familiarName(ref)
  const pushTree = async (desc: Descriptor, reference: string): Promise<void> => {
    const bytes = await store.readBytes(desc.digest, { maxSize: MAX_MANIFEST_SIZE })
    const doc = parseManifestBytes(bytes, { image, contentType: desc.mediaType, digest: desc.digest })
    if (doc.isIndex) {
      for (const child of (doc.parsed as ImageIndex).manifests) await pushTree(child, child.digest)
    } else {
      const m = doc.parsed as ImageManifest
      await mapLimit([m.config, ...m.layers], opts.concurrency ?? 3, (blob, signal) => pushBlob(transport, ref, blob, store, { ...opts, signal }), opts.signal)
    }
    await pushManifest(transport, ref, bytes, doc.descriptor.mediaType, reference, opts)
  }
  await pushTree(root, ref.tag ?? manifestReference(ref))
  return root
}
