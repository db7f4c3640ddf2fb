import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { beforeEach, describe, expect, test } from 'vitest'
import { ImageStore, LocalContentStore } from '../../cache/index.js'
import { sha256, type Digest } from '../../common/digest.js'
import { hasCode } from '../../common/errors.js'
import { MediaType, type Descriptor, type ImageConfig } from '../../common/oci.js'
import { anonymousCredentials, RegistryClient } from '../../registry/index.js'
import { ImageSource } from './imageSource.js'

/** Blobs and tags of one fake registry (the network edge), with a request log. */
interface FakeRegistry { blobs: Map<string, Buffer>; tags: Map<string, Descriptor>; requests: string[] }

function fakeFetch (reg: FakeRegistry): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input instanceof Request ? input.url : input))
    reg.requests.push(`${init?.method ?? 'GET'} ${url.pathname}`)
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname)
    if (m === null) return new Response('{}', { status: 200 })
    const [, repo, kind, reference] = m as unknown as [string, string, string, string]
    const desc = kind === 'manifests' ? reg.tags.get(`${repo}:${reference}`) : undefined
    const digest = desc?.digest ?? reference
    const body = reg.blobs.get(digest)
    if (body === undefined) return new Response(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'unknown' }] }), { status: 404, headers: { 'content-type': 'application/json' } })
    const type = kind === 'blobs' ? 'application/octet-stream' : desc?.mediaType ?? (JSON.parse(body.toString()) as { mediaType: string }).mediaType
    return new Response(body, { status: 200, headers: { 'content-type': type, 'docker-content-digest': digest, 'content-length': String(body.length) } })
  }) as typeof fetch
}

interface Writer { writeBytes (b: Uint8Array | string): Promise<{ digest: Digest; size: number }> }

/** One platform image: a gzip layer (any bytes: resolution never untars), its config and manifest. */
async function writeImage (w: Writer, arch: string, env: string): Promise<{ manifest: Descriptor; diffID: Digest; layer: Descriptor }> {
  const raw = Buffer.from(`layer for ${arch}`)
  const layerInfo = await w.writeBytes(gzipSync(raw))
  const diffID = sha256(raw)
  const config: ImageConfig = { architecture: arch, os: 'linux', config: { Env: [env] }, rootfs: { type: 'layers', diff_ids: [diffID] } }
  const configInfo = await w.writeBytes(JSON.stringify(config))
  const layer = { mediaType: MediaType.ociLayerGzip, ...layerInfo }
  const manifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: { mediaType: MediaType.ociConfig, ...configInfo }, layers: [layer] }
  const info = await w.writeBytes(JSON.stringify(manifest))
  return { manifest: { mediaType: MediaType.ociManifest, ...info, platform: { os: 'linux', architecture: arch } }, diffID, layer }
}

function registryWriter (reg: FakeRegistry): Writer {
  return {
    writeBytes: async (b) => {
      const buf = Buffer.from(b)
      reg.blobs.set(sha256(buf), buf)
      return { digest: sha256(buf), size: buf.length }
    },
  }
}

let root: string
let content: LocalContentStore
let images: ImageStore
let reg: FakeRegistry
let source: ImageSource
const amd64 = { os: 'linux', architecture: 'amd64' }
const arm64 = { os: 'linux', architecture: 'arm64' }

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'tsbuild-imagesource-'))
  images = await ImageStore.open(root)
  content = new LocalContentStore(root)
  reg = { blobs: new Map(), tags: new Map(), requests: [] }
  const registry = new RegistryClient({ auth: anonymousCredentials, fetch: fakeFetch(reg), retry: { attempts: 1 } })
  source = new ImageSource({ images, content, registry })
})

async function pushToFake (repo: string, tag: string): Promise<{ amd: Awaited<ReturnType<typeof writeImage>>; arm: Awaited<ReturnType<typeof writeImage>>; index: Descriptor }> {
  const w = registryWriter(reg)
  const amd = await writeImage(w, 'amd64', 'FROM=registry-amd64')
  const arm = await writeImage(w, 'arm64', 'FROM=registry-arm64')
  const indexInfo = await w.writeBytes(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [amd.manifest, arm.manifest] }))
  const index = { mediaType: MediaType.ociIndex, ...indexInfo }
  reg.tags.set(`${repo}:${tag}`, index)
  return { amd, arm, index }
}

describe('ImageSource', () => {
  test('an image that exists only in the local store resolves without any registry request', async () => {
    const img = await writeImage(content, 'amd64', 'FROM=local')
    await images.put('app', img.manifest)
    const r = await source.resolveImageConfig('app', { platform: amd64 })
    expect(r).toEqual({ ref: 'docker.io/library/app:latest', digest: img.manifest.digest, config: expect.objectContaining({ config: { Env: ['FROM=local'] } }) })
    expect(await source.layers('app', amd64)).toEqual([{ descriptor: img.layer, diffID: img.diffID }])
    // The converter pins base images by digest; the pinned form stays local too.
    const pinned = await source.resolve(`app@${img.manifest.digest}`, amd64)
    expect([pinned.origin, pinned.manifestDescriptor.digest]).toEqual(['local', img.manifest.digest])
    expect(reg.requests).toEqual([])
  })

  test('a name not in the local store comes from the registry; pull stores manifest, config and layers', async () => {
    const { arm, index } = await pushToFake('library/busybox', 'latest')
    const r = await source.pull('busybox', arm64)
    expect(r.origin).toBe('registry')
    expect(r.manifestDescriptor.digest).toBe(arm.manifest.digest)
    expect(r.rootDescriptor.digest).toBe(index.digest)
    expect(r.config.config?.Env).toEqual(['FROM=registry-arm64'])
    for (const d of [index.digest, arm.manifest.digest, r.manifest.config.digest, arm.layer.digest]) {
      expect(await content.info(d), d).toBeDefined()
    }
    expect(await source.layers('busybox', arm64)).toEqual([{ descriptor: arm.layer, diffID: arm.diffID }])
  })

  test('resolutions are cached per reference and platform within one build', async () => {
    await pushToFake('library/busybox', 'latest')
    const count = (): number => reg.requests.filter((r) => r.includes('/manifests/latest')).length
    const [a, b] = await Promise.all([source.resolve('busybox', amd64), source.resolve('busybox:latest', amd64)])
    await source.resolve('busybox', amd64)
    expect(a.manifestDescriptor.digest).toBe(b.manifestDescriptor.digest)
    expect(count()).toBe(2) // 'busybox' and 'busybox:latest' are separate cache keys, each resolved once
    await source.resolve('busybox', arm64)
    expect(count()).toBe(3)
  })

  test('a local image without the wanted platform falls back to the registry', async () => {
    const local = await writeImage(content, 'amd64', 'FROM=local')
    await images.put('busybox', local.manifest)
    const { arm } = await pushToFake('library/busybox', 'latest')
    expect((await source.resolve('busybox', amd64)).origin).toBe('local')
    const r = await source.resolve('busybox', arm64)
    expect(r.origin).toBe('registry')
    expect(r.manifestDescriptor.digest).toBe(arm.manifest.digest)
  })

  test('when neither has the platform, the error lists the platforms the local image has', async () => {
    const local = await writeImage(content, 'amd64', 'FROM=local')
    await images.put('onlylocal', local.manifest)
    const err = await source.resolve('onlylocal', arm64).catch((e: unknown) => e)
    expect(hasCode(err, 'PLATFORM_NOT_FOUND')).toBe(true)
    expect((err as Error).message).toBe('image onlylocal:latest has no manifest for linux/arm64; it has linux/amd64')
  })

  test('an unknown image fails with NOT_FOUND naming it, and the failure is not cached', async () => {
    const err = await source.resolve('nosuch:1', amd64).catch((e: unknown) => e)
    expect(hasCode(err, 'NOT_FOUND')).toBe(true)
    expect((err as Error).message).toContain('nosuch:1')
    await pushToFake('library/nosuch', '1')
    expect((await source.resolve('nosuch:1', amd64)).origin).toBe('registry')
  })

  test('a local image whose layer blob is missing fetches it from its registry on pull', async () => {
    const w = registryWriter(reg)
    const img = await writeImage(w, 'amd64', 'FROM=seeded')
    for (const [, bytes] of reg.blobs) if (!bytes.toString().startsWith('\x1f')) await content.writeBytes(bytes) // documents only, no gzip layer
    await images.put('localhost:5000/seeded:v1', img.manifest)
    expect(await content.info(img.layer.digest)).toBeUndefined()
    await source.pull('localhost:5000/seeded:v1', amd64)
    expect(await content.info(img.layer.digest)).toBeDefined()
    expect(reg.requests).toEqual([`GET /v2/seeded/blobs/${img.layer.digest}`])
  })
})
