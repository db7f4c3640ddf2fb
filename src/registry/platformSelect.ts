import { TsbuildError } from '../common/errors.js'
import { isAttestationEntry, type Descriptor, type ImageIndex } from '../common/oci.js'
import { formatPlatform, normalizePlatform, platformMatchRank, type Platform } from '../common/platform.js'

/**
 * Pick the manifest for `want` from an index, comparing normalised platforms
 * (`arm64/v8` ≡ `arm64`, `x86_64` ≡ `amd64`). An exact match wins; otherwise
 * an older ARM variant the wanted one can run (v7 runs v6 and v5), newest
 * first, as containerd's platform matcher does. Throws PLATFORM_NOT_FOUND
 * listing what the index offers.
 */
export function selectPlatformManifest (index: ImageIndex, want: Platform, image: string): Descriptor {
  const target = normalizePlatform(want)
  const candidates = index.manifests.filter((d) => d.platform !== undefined && !isAttestationEntry(d))
  let best: { d: Descriptor; rank: number } | undefined
  for (const d of candidates) {
    const rank = platformMatchRank(normalizePlatform(d.platform!), target)
    if (rank !== undefined && (best === undefined || rank < best.rank)) best = { d, rank }
  }
  if (best !== undefined) return best.d
  const offered = [...new Set(candidates.map((d) => formatPlatform(normalizePlatform(d.platform!))))]
  throw new TsbuildError('PLATFORM_NOT_FOUND', `image ${image} has no manifest for ${formatPlatform(target)}; it has ${offered.length > 0 ? offered.join(', ') : 'no platform-specific manifests'}`)
}
