import { describe, expect, test } from 'vitest'
import type { Digest } from '../common/digest.js'
import { hasCode } from '../common/errors.js'
import type { Descriptor, ImageIndex } from '../common/oci.js'
import { parsePlatform } from '../common/platform.js'
import { selectPlatformManifest } from './platformSelect.js'

const entry = (n: number, platform: Descriptor['platform']): Descriptor => ({
  mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${String(n).repeat(64).slice(0, 64)}` as Digest, size: 1, ...(platform !== undefined ? { platform } : {}),
})
const index: ImageIndex = {
  schemaVersion: 2,
  manifests: [
    entry(1, { os: 'linux', architecture: 'amd64' }),
    entry(2, { os: 'linux', architecture: 'arm64', variant: 'v8' }),
    entry(3, { os: 'linux', architecture: 'arm', variant: 'v6' }),
    entry(4, { os: 'linux', architecture: 'arm', variant: 'v7' }),
    entry(5, { os: 'unknown', architecture: 'unknown' }),
    entry(6, { os: 'linux', architecture: 'arm', variant: 'v5' }),
  ],
}

describe('selectPlatformManifest', () => {
  test.each([
    ['linux/amd64', 1],
    ['linux/x86_64', 1],
    ['linux/amd64/v3', 1],
    ['linux/arm64', 2],
    ['linux/arm64/v8', 2],
    ['linux/aarch64', 2],
    ['linux/arm/v7', 4],
    ['linux/arm', 4],
    ['linux/arm/v6', 3],
  ])('%s → entry %i', (want, n) => {
    expect(selectPlatformManifest(index, parsePlatform(want), 'img').digest).toBe(entry(n, undefined).digest)
  })

  test('an ARM v8 32-bit request falls back to the newest older variant', () => {
    const onlyOld: ImageIndex = { schemaVersion: 2, manifests: [index.manifests[5]!, index.manifests[2]!] }
    expect(selectPlatformManifest(onlyOld, parsePlatform('linux/arm/v7'), 'img').digest).toBe(entry(3, undefined).digest)
  })

  test('a missing platform lists what the index has, without attestation entries', () => {
    let err: unknown
    try { selectPlatformManifest(index, parsePlatform('linux/s390x'), 'busybox:latest') } catch (e) { err = e }
    expect(hasCode(err, 'PLATFORM_NOT_FOUND')).toBe(true)
    expect((err as Error).message).toBe('image busybox:latest has no manifest for linux/s390x; it has linux/amd64, linux/arm64, linux/arm/v6, linux/arm/v7, linux/arm/v5')
  })
})
