import { TsbuildError } from './errors.js'

/** An OCI platform (image-spec `platform` object), normalised. */
export interface Platform {
  readonly os: string
  readonly architecture: string
  readonly variant?: string
}

const ARCH_ALIASES: Record<string, string> = {
  x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64', armhf: 'arm', armel: 'arm', i386: '386', i686: '386',
}

/**
 * Normalise like containerd's platforms.Normalize: `x86_64` → amd64,
 * `aarch64` → arm64, `arm64/v8` → arm64 (v8 is the default variant), arm
 * defaults to v7, amd64/v1 → amd64.
 */
export function normalizePlatform (p: Platform): Platform {
  const os = p.os.toLowerCase()
  let architecture = p.architecture.toLowerCase()
  let variant = p.variant?.toLowerCase()
  architecture = ARCH_ALIASES[architecture] ?? architecture
  if (p.architecture.toLowerCase() === 'armhf') variant ??= 'v7'
  if (p.architecture.toLowerCase() === 'armel') variant ??= 'v6'
  if (architecture === 'arm64' && (variant === 'v8' || variant === '8')) variant = undefined
  if (architecture === 'arm' && variant === undefined) variant = 'v7'
  if (architecture === 'arm' && variant !== undefined && /^\d+$/.test(variant)) variant = `v${variant}`
  if (architecture === 'amd64' && variant === 'v1') variant = undefined
  return variant === undefined || variant === '' ? { os, architecture } : { os, architecture, variant }
}

/** Parse `linux/amd64`, `linux/arm64/v8`, `arm64` (os defaults to linux). */
export function parsePlatform (spec: string): Platform {
  const s = spec.trim()
  const parts = s.split('/')
  if (s === '' || parts.length > 3 || parts.some((x) => x === '' || !/^[A-Za-z0-9_.-]+$/.test(x))) {
    throw new TsbuildError('INVALID_PLATFORM', `invalid platform ${JSON.stringify(spec)}: expected os/arch[/variant], e.g. linux/amd64`)
  }
  if (parts.length === 1) {
    const a = parts[0]!.toLowerCase()
    if (KNOWN_OS.has(a)) return normalizePlatform({ os: a, architecture: hostPlatform().architecture })
    return normalizePlatform({ os: 'linux', architecture: a })
  }
  const [os, architecture, variant] = parts as [string, string, string?]
  return normalizePlatform(variant === undefined ? { os, architecture } : { os, architecture, variant })
}

const KNOWN_OS = new Set(['linux', 'windows', 'darwin', 'freebsd'])

export function formatPlatform (p: Platform): string {
  return p.variant ? `${p.os}/${p.architecture}/${p.variant}` : `${p.os}/${p.architecture}`
}

export function platformEquals (a: Platform, b: Platform): boolean {
  const x = normalizePlatform(a)
  const y = normalizePlatform(b)
  return x.os === y.os && x.architecture === y.architecture && (x.variant ?? '') === (y.variant ?? '')
}

const NODE_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' }

/** The platform this process runs on. */
export function hostPlatform (): Platform {
  return normalizePlatform({ os: process.platform === 'win32' ? 'windows' : process.platform, architecture: NODE_ARCH[process.arch] ?? process.arch })
}

/**
 * How well an image built for `have` serves `want` (both normalised): 0 for
 * an exact match, n for a variant n steps older that `want` can run (arm v7
 * runs v6; amd64 v2+ runs v1), undefined when it cannot run it.
 */
export function platformMatchRank (have: Platform, want: Platform): number | undefined {
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
