import { TsbuildError } from '../../common/errors.js'
import { INDEX_MEDIA_TYPES, MANIFEST_MEDIA_TYPES, isAttestationEntry } from '../../common/oci.js'
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest } from '../../common/oci.js'
import { formatPlatform, hostPlatform, normalizePlatform, platformEquals, platformMatchRank } from '../../common/platform.js'
import type { Platform } from '../../common/platform.js'
import type { ContentProvider } from '../content/types.js'

/** One platform's image: its manifest and where it sits. */
export interface ResolvedManifest {
  readonly descriptor: Descriptor
  readonly manifest: ImageManifest
  readonly platform: Platform
}

export function isIndexDescriptor (d: Descriptor): boolean {
  return INDEX_MEDIA_TYPES.includes(d.mediaType)
}

export async function readJsonBlob<T> (content: ContentProvider, d: Descriptor): Promise<T> {
  const bytes = await content.readBytes(d.digest)
  try {
    return JSON.parse(bytes.toString('utf8')) as T
  } catch (err) {
    throw new TsbuildError('UNSUPPORTED_MEDIA_TYPE', `blob ${d.digest} (${d.mediaType}) is not valid JSON`, { cause: err })
  }
}

export async function readIndex (content: ContentProvider, d: Descriptor): Promise<ImageIndex> {
  return await readJsonBlob<ImageIndex>(content, d)
}

export async function readManifest (content: ContentProvider, d: Descriptor): Promise<ImageManifest> {
  if (!MANIFEST_MEDIA_TYPES.includes(d.mediaType)) {
    throw new TsbuildError('UNSUPPORTED_MEDIA_TYPE', `${d.digest} has media type ${d.mediaType}, not an image manifest`)
  }
  return await readJsonBlob<ImageManifest>(content, d)
}

export async function readImageConfig (content: ContentProvider, manifest: ImageManifest): Promise<ImageConfig> {
  return await readJsonBlob<ImageConfig>(content, manifest.config)
}

/**
 * The image manifests under `root`, with their platforms. Attestation
 * manifests (BuildKit's `unknown/unknown` entries) are left out; a plain
 * manifest's platform comes from its config.
 */
export async function listManifests (content: ContentProvider, root: Descriptor): Promise<ResolvedManifest[]> {
  if (isIndexDescriptor(root)) {
    const index = await readIndex(content, root)
    const out: ResolvedManifest[] = []
    for (const child of index.manifests) {
      if (isAttestationEntry(child)) continue
      if (isIndexDescriptor(child)) {
        out.push(...await listManifests(content, child))
        continue
      }
      if (!MANIFEST_MEDIA_TYPES.includes(child.mediaType)) continue
      const manifest = await readManifest(content, child)
      const platform = child.platform ?? configPlatform(await readImageConfig(content, manifest))
      out.push({ descriptor: child, manifest, platform })
    }
    return out
  }
  const manifest = await readManifest(content, root)
  return [{ descriptor: root, manifest, platform: root.platform ?? configPlatform(await readImageConfig(content, manifest)) }]
}

export async function listPlatforms (content: ContentProvider, root: Descriptor): Promise<Platform[]> {
  return (await listManifests(content, root)).map((m) => m.platform)
}

/**
 * The manifest for `platform` (default: the host's; an image with a single
 * manifest is returned for any platform only when none was asked for).
 */
export async function resolveManifest (content: ContentProvider, root: Descriptor, opts: { platform?: Platform; imageName?: string } = {}): Promise<ResolvedManifest> {
  const all = await listManifests(content, root)
  const want = opts.platform ?? hostPlatform()
  // Exact first, else an older variant the wanted platform runs (amd64/v3 runs amd64), as for registry images.
  let best: { m: ResolvedManifest; rank: number } | undefined
  for (const m of all) {
    const rank = platformMatchRank(normalizePlatform(m.platform), normalizePlatform(want))
    if (rank !== undefined && (best === undefined || rank < best.rank)) best = { m, rank }
  }
  if (best !== undefined) return best.m
  if (opts.platform === undefined && all.length === 1) return all[0]!
  const name = opts.imageName ?? root.digest
  throw new TsbuildError('PLATFORM_NOT_FOUND', `image ${name} has no manifest for ${formatPlatform(want)}; it has ${all.map((m) => formatPlatform(m.platform)).join(', ') || 'none'}`)
}

/** Bytes the image occupies: every distinct blob it references, the root included. */
export async function imageSize (content: ContentProvider, root: Descriptor): Promise<number> {
  const sizes = new Map<string, number>([[root.digest, root.size]])
  const visit = async (d: Descriptor): Promise<void> => {
    if (isIndexDescriptor(d)) {
      for (const child of (await readIndex(content, d)).manifests) {
        sizes.set(child.digest, child.size)
        await visit(child)
      }
    } else if (MANIFEST_MEDIA_TYPES.includes(d.mediaType)) {
      const m = await readManifest(content, d)
      for (const b of [m.config, ...m.layers]) sizes.set(b.digest, b.size)
    }
  }
  await visit(root)
  let total = 0
  for (const s of sizes.values()) total += s
  return total
}

function configPlatform (c: ImageConfig): Platform {
  return c.variant !== undefined && c.variant !== '' ? { os: c.os, architecture: c.architecture, variant: c.variant } : { os: c.os, architecture: c.architecture }
}
