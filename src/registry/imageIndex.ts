import { sha256 } from '../common/digest.js'
import { TsbuildError } from '../common/errors.js'
import { INDEX_MEDIA_TYPES, MediaType, isAttestationEntry, type Descriptor, type ImageIndex } from '../common/oci.js'
import { formatPlatform, normalizePlatform, parsePlatform, type Platform } from '../common/platform.js'
import { familiarName, type ImageReference } from './reference.js'

/** One resolved `imagetools create` source: a manifest or an index, with the bytes its digest covers. */
export interface IndexSource {
  ref: ImageReference
  /** Its platform is filled in (from the config) when the source is a single manifest. */
  descriptor: Descriptor
  bytes: Buffer
}

/** An `--annotation` for a new index: on the index itself, or on its manifest descriptors (all, or one platform's). */
export interface IndexAnnotation {
  type: 'index' | 'manifest-descriptor'
  platform?: Platform
  key: string
  value: string
}

export interface CombineOptions {
  annotations?: readonly IndexAnnotation[]
  /** With one manifest source: wrap it in an index (default) rather than copy it as it is. */
  preferIndex?: boolean
}

export interface CombinedImage {
  bytes: Buffer
  descriptor: Descriptor
}

/**
 * Parse `--annotation` as buildx does: `[TYPE[PLATFORM]:]KEY=VALUE`. Only the
 * types that mean something for a new index are taken; `manifest` and
 * `index-descriptor` would need the manifests rewritten or an outer index.
 */
export function parseIndexAnnotation (spec: string): IndexAnnotation {
  const eq = spec.indexOf('=')
  if (eq <= 0) throw new TsbuildError('USAGE', `invalid annotation ${JSON.stringify(spec)}: expected [index:|manifest-descriptor:]KEY=VALUE`)
  const left = spec.slice(0, eq)
  const value = spec.slice(eq + 1)
  const m = /^(?:([a-z-]+)(?:\[([^\]]*)\])?:)?([^:[\]]+)$/.exec(left)
  if (m === null) throw new TsbuildError('USAGE', `invalid annotation ${JSON.stringify(spec)}: expected [index:|manifest-descriptor:]KEY=VALUE`)
  const [, type, platform, key] = m as unknown as [string, string | undefined, string | undefined, string]
  if (type === undefined || type === 'manifest' || type === 'index-descriptor') {
    throw new TsbuildError('USAGE', `annotation ${JSON.stringify(spec)}: ${type === undefined ? 'an annotation without a type' : `"${type}" annotations`} cannot be set by imagetools create`, {
      hint: 'write index:KEY=VALUE for the index, or manifest-descriptor[PLATFORM]:KEY=VALUE for its entries',
    })
  }
  if (type !== 'index' && type !== 'manifest-descriptor') throw new TsbuildError('USAGE', `annotation ${JSON.stringify(spec)}: unknown type "${type}" (index or manifest-descriptor)`)
  if (platform !== undefined && type === 'index') throw new TsbuildError('USAGE', `annotation ${JSON.stringify(spec)}: an index annotation takes no platform`)
  return { type, ...(platform !== undefined ? { platform: parsePlatform(platform) } : {}), key, value }
}

const isIndexType = (mediaType: string): boolean => INDEX_MEDIA_TYPES.includes(mediaType)

/**
 * Join sources into one index, as buildx's imagetools does: an index source
 * gives its manifests, a manifest source itself; an entry met twice (same
 * digest) is kept once, with the later platform and the annotations of both.
 * Two different manifests for one platform are refused: a client pulling
 * that platform would get whichever comes first, silently. One index source
 * and no annotations is copied as it is (its digest stays).
 */
export function combineIndex (sources: readonly IndexSource[], opts: CombineOptions = {}): CombinedImage {
  if (sources.length === 0) throw new Error('combineIndex: no sources')
  const annotations = opts.annotations ?? []
  if (sources.length === 1 && annotations.length === 0) {
    const only = sources[0]!
    if (isIndexType(only.descriptor.mediaType) || opts.preferIndex === false) {
      const { mediaType, digest, size } = only.descriptor
      return { bytes: only.bytes, descriptor: { mediaType, digest, size } }
    }
  }

  const entries: Descriptor[] = []
  const byDigest = new Map<string, number>()
  const origin: string[] = []
  const add = (d: Descriptor, from: IndexSource): void => {
    const at = byDigest.get(d.digest)
    if (at === undefined) {
      byDigest.set(d.digest, entries.length)
      entries.push(cloneDescriptor(d))
      origin.push(familiarName(from.ref))
      return
    }
    const old = entries[at]!
    if (d.platform !== undefined) old.platform = { ...d.platform }
    if (d.annotations !== undefined) old.annotations = { ...old.annotations, ...d.annotations }
  }
  for (const src of sources) {
    if (isIndexType(src.descriptor.mediaType)) {
      for (const d of parseIndex(src).manifests) add(d, src)
    } else {
      add(src.descriptor, src)
    }
  }
  refuseDuplicatePlatforms(entries, origin)

  const allDocker = entries.every((d) => d.mediaType.startsWith('application/vnd.docker.'))
  const mediaType = allDocker ? MediaType.dockerManifestList : MediaType.ociIndex
  const indexAnnotations: Record<string, string> = {}
  for (const a of annotations) {
    if (allDocker) {
      throw new TsbuildError('USAGE', `annotation ${a.type}:${a.key}: the sources are Docker manifests, and a Docker manifest list holds no annotations`, {
        hint: 'annotate an index of OCI manifests (tsbuild builds them by default), or leave out --annotation',
      })
    }
    if (a.type === 'index') { indexAnnotations[a.key] = a.value; continue }
    const want = a.platform !== undefined ? formatPlatform(normalizePlatform(a.platform)) : undefined
    for (const d of entries) {
      if (want !== undefined && (d.platform === undefined || formatPlatform(normalizePlatform(d.platform)) !== want)) continue
      d.annotations = { ...d.annotations, [a.key]: a.value }
    }
  }
  const bytes = marshalIndex(mediaType, entries, indexAnnotations)
  return { bytes, descriptor: { mediaType, digest: sha256(bytes), size: bytes.length } }
}

function parseIndex (src: IndexSource): ImageIndex {
  const parsed = JSON.parse(src.bytes.toString('utf8')) as ImageIndex
  if (!Array.isArray(parsed.manifests)) throw new TsbuildError('UNSUPPORTED_MEDIA_TYPE', `image ${familiarName(src.ref)}: index has no manifests list`)
  return parsed
}

function refuseDuplicatePlatforms (entries: readonly Descriptor[], origin: readonly string[]): void {
  const seen = new Map<string, number>()
  entries.forEach((d, i) => {
    if (d.platform === undefined || isAttestationEntry(d)) return
    const key = formatPlatform(normalizePlatform(d.platform)) + (d.platform['os.version'] !== undefined ? ` (${d.platform['os.version']})` : '')
    const first = seen.get(key)
    if (first === undefined) { seen.set(key, i); return }
    throw new TsbuildError('CONFLICT', `two different manifests for platform ${key}: ${entries[first]!.digest} from ${origin[first]} and ${d.digest} from ${origin[i]}`, {
      hint: 'give one source per platform (with --append, the target\'s index already has this platform)',
    })
  })
}

function cloneDescriptor (d: Descriptor): Descriptor {
  return {
    ...d,
    ...(d.platform !== undefined ? { platform: { ...d.platform } } : {}),
    ...(d.annotations !== undefined ? { annotations: { ...d.annotations } } : {}),
  }
}

/** Fields in the order Go's image-spec types write them, so the bytes read as buildx's do. */
function orderDescriptor (d: Descriptor): Record<string, unknown> {
  const p = d.platform
  const platform = p === undefined
    ? undefined
    : { architecture: p.architecture, os: p.os, 'os.version': p['os.version'], 'os.features': p['os.features'], variant: p.variant }
  return {
    mediaType: d.mediaType,
    digest: d.digest,
    size: d.size,
    urls: d.urls,
    annotations: d.annotations !== undefined && Object.keys(d.annotations).length > 0 ? sortKeys(d.annotations) : undefined,
    platform,
    artifactType: d.artifactType,
  }
}

function sortKeys (m: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

/** The index as buildx writes it: two-space indented JSON, annotations only when there are some. */
export function marshalIndex (mediaType: string, manifests: readonly Descriptor[], annotations: Record<string, string> = {}): Buffer {
  const doc = {
    schemaVersion: 2,
    mediaType,
    manifests: manifests.map(orderDescriptor),
    annotations: Object.keys(annotations).length > 0 ? sortKeys(annotations) : undefined,
  }
  return Buffer.from(JSON.stringify(doc, null, 2))
}
