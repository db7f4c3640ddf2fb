import { Readable } from 'node:stream'
import type { Digest } from '../../common/digest.js'
import { TsbuildError, hasCode } from '../../common/errors.js'
import { MediaType, type Descriptor } from '../../common/oci.js'
import { hostPlatform, type Platform } from '../../common/platform.js'
import type { RegistryClient } from '../../registry/index.js'
import type { BlobInfo, ContentProvider, ContentStore } from '../content/index.js'
import { CACHE_CONFIG_MEDIA_TYPE, INLINE_CACHE_FIELD, cacheManifest, decodeCacheConfig, decodeCacheContents, type CacheChain, type CacheConfig, type CacheContents, type CacheMountContents } from './format.js'
import type { CacheTarget } from './target.js'

/**
 * `type=registry`: the cache manifest is pushed under `ref`'s tag. Reading
 * also understands an image built with `--cache-to type=inline` (the cache
 * metadata sits in each platform's image config).
 */
export class RegistryCacheTarget implements CacheTarget {
  readonly name: string
  /**
   * `mountFrom`: a repository in the same registry (a base image's) that blobs
   * are mounted from instead of uploaded when it has them.
   */
  readonly registryRef: string

  constructor (readonly ref: string, private readonly client: RegistryClient, private readonly platforms: readonly Platform[] = [hostPlatform()], private readonly mountFrom?: string) {
    this.name = `registry ${ref}`
    this.registryRef = ref
  }

  async read (signal?: AbortSignal): Promise<CacheContents | undefined> {
    const chains: CacheChain[] = []
    const mounts: CacheMountContents[] = []
    let found = false
    for (const platform of this.platforms) {
      let resolved
      try {
        resolved = await this.client.resolve(this.ref, platform, signal !== undefined ? { signal } : {})
      } catch (err) {
        if (hasCode(err, 'NOT_FOUND') || hasCode(err, 'PLATFORM_NOT_FOUND')) continue
        throw err
      }
      const config = resolved.config as unknown as Record<string, unknown>
      if (config[INLINE_CACHE_FIELD] !== undefined) {
        chains.push(...decodeCacheConfig(config[INLINE_CACHE_FIELD], `${this.name} (inline)`))
        found = true
      } else if (resolved.manifest.config.mediaType === CACHE_CONFIG_MEDIA_TYPE) {
        const contents = decodeCacheContents(config, this.name)
        chains.push(...contents.chains)
        mounts.push(...contents.mounts)
        found = true
        break // one cache manifest serves every platform
      }
      if (resolved.index === undefined) break
    }
    return found ? { chains, mounts } : undefined
  }

  async putBlob (desc: Descriptor, content: () => Promise<ContentProvider>, signal?: AbortSignal): Promise<boolean> {
    // pushBlob HEADs first and reads the bytes only when the registry lacks them.
    const res = await this.client.pushBlob(this.ref, desc, deferredProvider(content), {
      ...(signal !== undefined ? { signal } : {}), ...(this.mountFrom !== undefined ? { mountFrom: this.mountFrom } : {}),
    })
    return res === 'uploaded'
  }

  async fetchBlob (desc: Descriptor, store: ContentStore, signal?: AbortSignal): Promise<void> {
    await this.client.fetchBlob(this.ref, desc, store, signal !== undefined ? { signal } : {})
  }

  async commit (config: CacheConfig, signal?: AbortSignal): Promise<void> {
    const { manifest, config: configBytes, configDescriptor } = cacheManifest(config)
    const opts = signal !== undefined ? { signal } : {}
    await this.client.pushBlob(this.ref, configDescriptor, bytesProvider(configDescriptor.digest, configBytes), opts)
    await this.client.pushManifest(this.ref, manifest, MediaType.ociManifest, opts)
  }
}

/** A provider resolved on first use. */
function deferredProvider (get: () => Promise<ContentProvider>): ContentProvider {
  let p: Promise<ContentProvider> | undefined
  const once = (): Promise<ContentProvider> => (p ??= get())
  return {
    info: async (d) => await (await once()).info(d),
    read: (d, o) => Readable.from((async function * () { yield * (await once()).read(d, o) })()),
    readBytes: async (d, o) => await (await once()).readBytes(d, o),
    path: () => { throw new Error('a deferred blob has no path') },
  }
}

/** Serve one in-memory blob (the cache config) to pushBlob. */
function bytesProvider (digest: Digest, bytes: Buffer): ContentProvider {
  const check = (d: Digest): void => { if (d !== digest) throw new TsbuildError('NOT_FOUND', `blob ${d} not found`) }
  return {
    info: async (d): Promise<BlobInfo | undefined> => (d === digest ? { digest, size: bytes.length } : undefined),
    read: (d, o) => { check(d); return Readable.from([bytes.subarray(o?.offset ?? 0)]) },
    readBytes: async (d) => { check(d); return bytes },
    path: () => { throw new Error('an in-memory blob has no path') },
  }
}
