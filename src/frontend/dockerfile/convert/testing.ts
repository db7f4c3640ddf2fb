/** Test helpers: a fake image resolver with fixed configs and a request builder. */
import { sha256 } from '../../../common/digest.js'
import { TsbuildError } from '../../../common/errors.js'
import type { ImageConfig } from '../../../common/oci.js'
import { formatPlatform, parsePlatform, type Platform } from '../../../common/platform.js'
import { normalizeImageRef } from '../../../llb/index.js'
import type { ConvertRequest, ImageMetaResolver } from './types.js'

export interface FakeResolver extends ImageMetaResolver {
  /** `ref|platform` of every call, in order. */
  calls: string[]
}

/** Every image exists for every platform unless listed in `missing`; `configs` overrides per normalised ref. */
export function fakeResolver (configs: Record<string, Partial<ImageConfig['config']> & { diffIds?: number }> = {}, missing: string[] = []): FakeResolver {
  const calls: string[] = []
  return {
    calls,
    async resolveImageConfig (ref: string, { platform }: { platform: Platform }) {
      calls.push(`${ref}|${formatPlatform(platform)}`)
      const name = ref.startsWith('oci-layout://') ? ref : normalizeImageRef(ref)
      if (missing.includes(ref)) throw new TsbuildError('NOT_FOUND', `${name}: not found`)
      const { diffIds = 1, ...config } = configs[ref] ?? {}
      const image: ImageConfig = {
        architecture: platform.architecture,
        os: platform.os,
        ...(platform.variant !== undefined ? { variant: platform.variant } : {}),
        config: { Env: ['PATH=/usr/bin:/bin'], ...config },
        rootfs: { type: 'layers', diff_ids: Array.from({ length: diffIds }, (_, i) => sha256(`${name}-${i}`)) },
        history: Array.from({ length: diffIds }, () => ({ created_by: 'base' })),
      }
      return { ref: name, digest: sha256(`${name}@${formatPlatform(platform)}`), config: image }
    },
  }
}

export function request (dockerfile: string, opts: Partial<ConvertRequest> = {}): ConvertRequest {
  return {
    dockerfile,
    file: 'Dockerfile',
    targetPlatforms: [parsePlatform('linux/amd64')],
    buildPlatform: parsePlatform('linux/amd64'),
    buildArgs: new Map(),
    labels: new Map(),
    dockerignorePatterns: [],
    namedContexts: new Map(),
    noCacheFilter: [],
    imageResolver: fakeResolver(),
    ...opts,
  }
}
