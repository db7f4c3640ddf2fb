import { TsbuildError } from '../common/errors.js'
import type { Descriptor, ImageIndex } from '../common/oci.js'
import { formatPlatform, normalizePlatform, type Platform } from '../common/platform.js'

/**
 * Pick the manifest for `want` from an index, comparing normalised platforms
 * (`arm64/v8` ≡ `arm64`, `x86_64` ≡ `amd64`). An exact match wins; otherwise
 * an older ARM variant the wanted one can run (v7 runs v6 and v5), newest
 * first, as containerd's platform matcher does. Throws PLATFORM_NOT_FOUND
 * listing what the index offers.
 */
export function selectPlatformManifest (index: ImageIndex, want: Platform, image: string): Descriptor {
  const target = normalizePlatform(want)
  const candidates = index.manifests.filter((d) => d.platform !== undefined && d.platform.os !== 'unknown')
  let best: { d: Descriptor; rank: number } | undefined
  for (const d of candidates) {
    const rank = platformRank(normalizePlatform(d.platform!), target)
    if (rank !== undefined && (best === undefined || rank < best.rank)) best = { d, rank }
  }
  if (best !== undefined) return best.d
  const offered = [...new Set(candidates.map((d) => formatPlatform(normalizePlatform(d.platform!))))]
  throw new TsbuildError('PLATFORM_NOT_FOUND', `image ${image} has no manifest for ${formatPlatform(target)}; it has ${offered.length > 0 ? offered.join(', ') : 'no platform-specific manifests'}`)
}

/** 0 for an exact match, n for a variant n steps older, undefined when not runnable. */
function platformRank (have: Platform, want: Platform): number | undefined {
  if (have.os !== want.os || have.architecture !== want.architecture) return undefined
  if ((have.variant ?? '') === (want.variant ?? '')) return 0
  if (want.architecture === 'arm' && have.variant !== undefined && want.variant !== undefined) {
    const h = Number(have.variant.slice(1))
    const w = Number(want.variant.slice(1))
    if (h < w) return w - h
  }
  // amd64 microarchitecture levels: v2+ hosts run v1 images.
  if (want.architecture === 'amd64' && have.variant === undefined && want.variant !== undefined) return 1
  return undefined
}
