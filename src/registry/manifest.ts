import { isDigest, sha256, type Digest } from '../common/digest.js'
import { TsbuildError } from '../common/errors.js'
import { INDEX_MEDIA_TYPES, MANIFEST_MEDIA_TYPES, MediaType, type Descriptor, type ImageIndex, type ImageManifest } from '../common/oci.js'
import { familiarName, type ImageReference } from './reference.js'
import { errorFromResponse, type RegistryTransport } from './transport.js'

/** Registries and tsbuild refuse manifests above this size (distribution's own limit). */
export const MAX_MANIFEST_SIZE = 4 * 1024 * 1024

export const MANIFEST_ACCEPT = [MediaType.ociIndex, MediaType.ociManifest, MediaType.dockerManifestList, MediaType.dockerManifest].join(', ')

/** A manifest or index exactly as the registry served it; `bytes` are what `digest` covers. */
export interface FetchedManifest {
  descriptor: Descriptor
  bytes: Buffer
  parsed: ImageManifest | ImageIndex
  isIndex: boolean
}

export interface ManifestFetchOptions {
  signal?: AbortSignal
  /** Expected descriptor, e.g. an index entry: the bytes must match its digest. */
  expected?: Descriptor
}

/** GET a manifest by tag or digest, verify it, and parse it. */
export async function fetchManifest (transport: RegistryTransport, ref: ImageReference, reference: string, opts: ManifestFetchOptions = {}): Promise<FetchedManifest> {
  const image = describeImage(ref, reference)
  const res = await transport.send({ ref, actions: 'pull' }, {
    method: 'GET',
    url: `/v2/${ref.repository}/manifests/${reference}`,
    headers: { accept: MANIFEST_ACCEPT },
    signal: opts.signal,
  })
  if (!res.ok) throw await errorFromResponse(res, `image ${image}`)
  const bytes = await readCapped(res, MAX_MANIFEST_SIZE, `image ${image}: manifest`)
  const digest = sha256(bytes)
  const want = opts.expected?.digest ?? (isDigest(reference) ? reference : undefined)
  if (want !== undefined && want !== digest) {
    throw new TsbuildError('DIGEST_MISMATCH', `image ${image}: manifest digest is ${digest}, expected ${want}`)
  }
  const headerDigest = res.headers.get('docker-content-digest')
  if (want === undefined && headerDigest !== null && isDigest(headerDigest) && headerDigest !== digest) {
    throw new TsbuildError('DIGEST_MISMATCH', `image ${image}: manifest bytes hash to ${digest} but the registry says ${headerDigest}`)
  }
  return parseManifestBytes(bytes, { image, contentType: res.headers.get('content-type'), digest })
}

/** Parse and classify manifest bytes; rejects media types tsbuild cannot use. */
export function parseManifestBytes (bytes: Buffer, o: { image: string; contentType?: string | null; digest?: Digest }): FetchedManifest {
  let parsed: ImageManifest & ImageIndex
  try {
    parsed = JSON.parse(bytes.toString('utf8')) as ImageManifest & ImageIndex
  } catch (err) {
    throw new TsbuildError('UNSUPPORTED_MEDIA_TYPE', `image ${o.image}: manifest is not valid JSON`, { cause: err })
  }
  const headerType = o.contentType?.split(';')[0]?.trim()
  // The body's own mediaType wins; old registries send text/plain or application/json.
  let mediaType = typeof parsed.mediaType === 'string' && parsed.mediaType !== '' ? parsed.mediaType : headerType
  if ((mediaType === undefined || mediaType === 'application/json' || mediaType === 'text/plain') && parsed.schemaVersion === 2) {
    mediaType = Array.isArray(parsed.manifests) ? MediaType.ociIndex : MediaType.ociManifest
  }
  if (mediaType === undefined || (!INDEX_MEDIA_TYPES.includes(mediaType) && !MANIFEST_MEDIA_TYPES.includes(mediaType))) {
    throw new TsbuildError('UNSUPPORTED_MEDIA_TYPE', `image ${o.image}: unsupported manifest media type ${mediaType ?? `(none, schemaVersion ${String(parsed.schemaVersion)})`}`, {
      hint: 'tsbuild reads OCI image manifests/indexes and Docker schema2 manifests/manifest lists',
    })
  }
  const isIndex = INDEX_MEDIA_TYPES.includes(mediaType)
  if (isIndex ? !Array.isArray(parsed.manifests) : (parsed.config === undefined || !Array.isArray(parsed.layers))) {
    throw new TsbuildError('UNSUPPORTED_MEDIA_TYPE', `image ${o.image}: ${mediaType} document is malformed (missing ${isIndex ? 'manifests' : 'config or layers'})`)
  }
  return { descriptor: { mediaType, digest: o.digest ?? sha256(bytes), size: bytes.length }, bytes, parsed, isIndex }
}

/** Read a response body, refusing more than `max` bytes (checked before and while reading). */
export async function readCapped (res: Response, max: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? NaN)
  if (declared > max) {
    await res.body?.cancel()
    throw new TsbuildError('TOO_LARGE', `${what} is ${declared} bytes, over the ${max}-byte limit`)
  }
  const chunks: Buffer[] = []
  let total = 0
  if (res.body === null) return Buffer.alloc(0)
  for await (const chunk of res.body) {
    total += chunk.length
    if (total > max) {
      await res.body.cancel().catch(() => {})
      throw new TsbuildError('TOO_LARGE', `${what} is over the ${max}-byte limit`)
    }
    chunks.push(Buffer.from(chunk))
  }
  return Buffer.concat(chunks)
}

export function describeImage (ref: ImageReference, reference?: string): string {
  if (reference === undefined || reference === ref.tag || reference === ref.digest) return familiarName(ref)
  return `${familiarName(ref)} (${reference})`
}

