import type { Digest } from '../common/digest.js'
import type { Descriptor } from '../common/oci.js'
import { hostPlatform, type Platform } from '../common/platform.js'
import type { BlobInfo, ContentProvider, ContentStore } from '../cache/content/index.js'
import { fetchBlobToStore, fetchSmallBlob, readBlob, type BlobProgress } from './blob.js'
import { copyImage, type CopyResult } from './copyImage.js'
import type { CredentialStore } from './credentials.js'
import { MAX_MANIFEST_SIZE, fetchManifest, type FetchedManifest } from './manifest.js'
import { pullImage, resolveImage, type ResolvedImage } from './pull.js'
import { pushBlob, pushImage, pushManifest, type BlobPushResult, type PushOptions } from './push.js'
import { manifestReference, parseReference, type ImageReference } from './reference.js'
import type { RetryPolicy } from './retry.js'
import { RegistryTransport } from './transport.js'

export interface RegistryClientOptions {
  auth: CredentialStore
  /** host[:port] of registries to reach over plain http (loopback ones always are). */
  insecureRegistries?: readonly string[]
  /** Replaceable for tests and proxies; defaults to Node's fetch. */
  fetch?: typeof fetch
  retry?: Partial<RetryPolicy>
  onProgress?: (p: BlobProgress) => void
  /** Layers transferred at once (default 3). */
  concurrency?: number
  /** Upload chunk size; blobs above it are pushed in PATCH chunks (default 16 MiB). */
  chunkSize?: number
}

export interface CallOptions { signal?: AbortSignal }

type RefInput = string | ImageReference

/**
 * The registry client tsbuild uses for image sources, pushes and cache
 * import/export. One instance shares its token cache across calls.
 */
export class RegistryClient {
  private readonly transport: RegistryTransport
  private readonly opts: RegistryClientOptions

  constructor (opts: RegistryClientOptions) {
    this.opts = opts
    this.transport = new RegistryTransport({
      credentials: opts.auth,
      ...(opts.insecureRegistries !== undefined ? { insecureRegistries: opts.insecureRegistries } : {}),
      ...(opts.fetch !== undefined ? { fetch: opts.fetch } : {}),
      ...(opts.retry !== undefined ? { retry: opts.retry } : {}),
    })
  }

  /** Manifest and config of `ref` for `platform` (default: this host's). */
  resolve (ref: RefInput, platform: Platform = hostPlatform(), opts: CallOptions = {}): Promise<ResolvedImage> {
    return resolveImage(this.transport, toRef(ref), platform, opts)
  }

  /** Everything `platform` needs into `store`; returns what was resolved. */
  pullImage (ref: RefInput, platform: Platform, store: ContentStore, opts: CallOptions = {}): Promise<ResolvedImage> {
    return pullImage(this.transport, toRef(ref), platform, store, this.pullOpts(opts))
  }

  /** One blob into the store (no-op when present), verified. */
  fetchBlob (ref: RefInput, desc: Descriptor, store: ContentStore, opts: CallOptions = {}): Promise<BlobInfo> {
    return fetchBlobToStore(this.transport, toRef(ref), desc, store, this.pullOpts(opts))
  }

  /** Stream one blob's verified bytes without storing them. */
  readBlob (ref: RefInput, desc: Descriptor, opts: CallOptions = {}): AsyncGenerator<Uint8Array> {
    return readBlob(this.transport, toRef(ref), desc, this.pullOpts(opts))
  }

  /** A small blob (an image config) into memory, verified; refuses blobs over the manifest size limit. */
  fetchSmallBlob (ref: RefInput, desc: Descriptor, opts: CallOptions = {}): Promise<Buffer> {
    return fetchSmallBlob(this.transport, toRef(ref), desc, MAX_MANIFEST_SIZE, opts)
  }

  pushBlob (ref: RefInput, desc: Descriptor, content: ContentProvider, opts: CallOptions & Pick<PushOptions, 'mountFrom'> = {}): Promise<BlobPushResult> {
    return pushBlob(this.transport, toRef(ref), desc, content, { ...this.pushOpts(opts), ...(opts.mountFrom !== undefined ? { mountFrom: opts.mountFrom } : {}) })
  }

  /** PUT a manifest/index under `reference` (a tag or digest; default: the ref's tag or digest). */
  pushManifest (ref: RefInput, bytes: Uint8Array, mediaType: string, opts: CallOptions & { reference?: string } = {}): Promise<Digest> {
    const r = toRef(ref)
    return pushManifest(this.transport, r, bytes, mediaType, opts.reference ?? r.tag ?? r.digest ?? 'latest', opts)
  }

  /** Push the image rooted at `root` (a manifest or index in `store`) to `ref`. */
  pushImage (store: ContentProvider, root: Descriptor, ref: RefInput, opts: CallOptions & Pick<PushOptions, 'mountFrom' | 'mountFromFor' | 'beforeUpload'> = {}): Promise<Descriptor> {
    return pushImage(this.transport, store, root, toRef(ref), {
      ...this.pushOpts(opts), ...(opts.mountFrom !== undefined ? { mountFrom: opts.mountFrom } : {}),
      ...(opts.mountFromFor !== undefined ? { mountFromFor: opts.mountFromFor } : {}), ...(opts.beforeUpload !== undefined ? { beforeUpload: opts.beforeUpload } : {}),
    })
  }

  /** A manifest or index exactly as served, verified against its digest (the ref's tag or digest unless `reference`). */
  fetchManifest (ref: RefInput, opts: CallOptions & { reference?: string; expected?: Descriptor } = {}): Promise<FetchedManifest> {
    const r = toRef(ref)
    return fetchManifest(this.transport, r, opts.reference ?? manifestReference(r), {
      ...(opts.signal !== undefined ? { signal: opts.signal } : {}), ...(opts.expected !== undefined ? { expected: opts.expected } : {}),
    })
  }

  /** Copy the manifest or index `desc` and everything under it from `from` to `to` (by digest; mounted in one registry). */
  copyImage (from: RefInput, desc: Descriptor, to: RefInput, opts: CallOptions = {}): Promise<CopyResult> {
    return copyImage(this.transport, toRef(from), desc, toRef(to), this.pushOpts(opts))
  }

  private pullOpts (opts: CallOptions): { signal?: AbortSignal; onProgress?: (p: BlobProgress) => void; concurrency?: number } {
    return { ...opts, ...(this.opts.onProgress !== undefined ? { onProgress: this.opts.onProgress } : {}), ...(this.opts.concurrency !== undefined ? { concurrency: this.opts.concurrency } : {}) }
  }

  private pushOpts (opts: CallOptions): PushOptions {
    return { ...this.pullOpts(opts), ...(this.opts.chunkSize !== undefined ? { chunkSize: this.opts.chunkSize } : {}) }
  }
}

function toRef (ref: RefInput): ImageReference {
  return typeof ref === 'string' ? parseReference(ref) : ref
}
