// Push and pull against a real loopback registry (docker-registry), with
// skopeo as the independent judge of what went over the wire.
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeEach, describe, expect, inject, test } from 'vitest'
import { LocalContentStore } from '../../src/cache/content/index.js'
import type { Digest } from '../../src/common/digest.js'
import { hasCode } from '../../src/common/errors.js'
import type { Descriptor } from '../../src/common/oci.js'
import { parsePlatform } from '../../src/common/platform.js'
import { RegistryClient, anonymousCredentials, staticCredentials } from '../../src/registry/index.js'
import { skopeo, writeOciLayout, writeTestImage, writeTestIndex } from '../setup/registry.js'

const registry = inject('registry')
const authRegistry = inject('authRegistry')

let store: LocalContentStore
let storeDir: string
let repo: string
beforeEach(async () => {
  storeDir = await mkdtemp(join(tmpdir(), 'tsbuild-store-'))
  store = new LocalContentStore(storeDir)
  repo = `test/${Math.random().toString(36).slice(2, 10)}`
})

const client = (): RegistryClient => new RegistryClient({ auth: anonymousCredentials })

async function rejection (p: Promise<unknown>): Promise<Error> {
  try { await p } catch (err) { return err as Error }
  throw new Error('expected a rejection')
}

describe('push with tsbuild, judge with skopeo', () => {
  test('a single-platform image round-trips with the same digests', async () => {
    const img = await writeTestImage(store, { platform: 'linux/amd64', files: { 'hello.txt': 'hello from tsbuild\n' } })
    await client().pushImage(store, img.manifest as Descriptor, `${registry}/${repo}:v1`)

    const raw = await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${registry}/${repo}:v1`)
    expect(await store.readBytes(img.manifest.digest as Digest)).toEqual(Buffer.from(raw))
    const info = JSON.parse(await skopeo('inspect', '--tls-verify=false', `docker://${registry}/${repo}:v1`)) as { Digest: string; Layers: string[]; Architecture: string }
    expect(info.Digest).toBe(img.manifest.digest)
    expect(info.Layers).toEqual(img.layerDigests)
    expect(info.Architecture).toBe('amd64')

    const out = await mkdtemp(join(tmpdir(), 'tsbuild-oci-'))
    await skopeo('copy', '--src-tls-verify=false', `docker://${registry}/${repo}:v1`, `oci:${out}:v1`)
    const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> }
    expect(index.manifests[0]!.digest).toBe(img.manifest.digest)
  })

  test('a two-platform index: skopeo sees the index, tsbuild resolves each platform', async () => {
    const amd = await writeTestImage(store, { platform: 'linux/amd64', files: { arch: 'amd64' } })
    const arm = await writeTestImage(store, { platform: 'linux/arm64/v8', files: { arch: 'arm64' } })
    const index = await writeTestIndex(store, [amd.manifest, arm.manifest])
    await client().pushImage(store, index as Descriptor, `${registry}/${repo}:multi`)

    const raw = JSON.parse(await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${registry}/${repo}:multi`)) as { manifests: Array<{ digest: string }> }
    expect(raw.manifests.map((m) => m.digest)).toEqual([amd.manifest.digest, arm.manifest.digest])
    const armInfo = JSON.parse(await skopeo('inspect', '--tls-verify=false', '--override-arch=arm64', `docker://${registry}/${repo}:multi`)) as { Digest: string }
    expect(armInfo.Digest).toBe(index.digest)

    const c = client()
    const r = await c.resolve(`${registry}/${repo}:multi`, parsePlatform('linux/arm64'))
    expect(r.descriptor.digest).toBe(index.digest)
    expect(r.manifestDescriptor.digest).toBe(arm.manifest.digest)
    expect(r.config.architecture).toBe('arm64')
    expect((await c.resolve(`${registry}/${repo}:multi`, parsePlatform('linux/x86_64'))).manifestDescriptor.digest).toBe(amd.manifest.digest)

    const err = await rejection(c.resolve(`${registry}/${repo}:multi`, parsePlatform('linux/s390x')))
    expect(hasCode(err, 'PLATFORM_NOT_FOUND')).toBe(true)
    expect(err.message).toContain('linux/amd64, linux/arm64')
  })

  test('big blobs go up in PATCH chunks; a second repository mounts them', async () => {
    const big = randomBytes(300 * 1024) // incompressible: the layer needs several chunks
    const img = await writeTestImage(store, { platform: 'linux/amd64', files: { big } })
    const c = new RegistryClient({ auth: anonymousCredentials, chunkSize: 64 * 1024 })
    await c.pushImage(store, img.manifest as Descriptor, `${registry}/${repo}:chunked`)
    const info = JSON.parse(await skopeo('inspect', '--tls-verify=false', `docker://${registry}/${repo}:chunked`)) as { Digest: string }
    expect(info.Digest).toBe(img.manifest.digest)

    const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: img.layerDigests[0] as Digest, size: (await store.info(img.layerDigests[0] as Digest))!.size }
    expect(await c.pushBlob(`${registry}/${repo}-copy:x`, layer, store, { mountFrom: repo })).toBe('mounted')
    expect(await c.pushBlob(`${registry}/${repo}-copy:x`, layer, store)).toBe('exists')
  })
})

describe('push with skopeo, pull with tsbuild', () => {
  test.each([
    ['OCI', 'oci', 'application/vnd.oci.image.manifest.v1+json'],
    ['Docker schema2', 'v2s2', 'application/vnd.docker.distribution.manifest.v2+json'],
  ])('pullImage stores exactly the blobs skopeo pushed (%s)', async (_name, format, mediaType) => {
    const src = await mkdtemp(join(tmpdir(), 'tsbuild-src-'))
    const srcStore = new LocalContentStore(src)
    const img = await writeTestImage(srcStore, { platform: 'linux/arm64', files: { 'etc/motd': 'pushed by skopeo\n' } })
    await writeOciLayout(src, { v2: img.manifest })
    await skopeo('copy', '--dest-tls-verify=false', `--format=${format}`, `oci:${src}:v2`, `docker://${registry}/${repo}:v2`)

    const progress: number[] = []
    const c = new RegistryClient({ auth: anonymousCredentials, onProgress: (p) => progress.push(p.done) })
    const r = await c.pullImage(`${registry}/${repo}:v2`, parsePlatform('linux/arm64/v8'), store)
    const remote = JSON.parse(await skopeo('inspect', '--tls-verify=false', `docker://${registry}/${repo}:v2`)) as { Digest: string; Layers: string[] }
    expect(r.manifestDescriptor.digest).toBe(remote.Digest)
    expect(r.manifestDescriptor.mediaType).toBe(mediaType)
    for (const d of [remote.Digest, ...remote.Layers, r.manifest.config.digest]) expect(await store.info(d as Digest)).toBeDefined()
    expect(await store.readBytes(remote.Layers[0] as Digest)).toEqual(await srcStore.readBytes(remote.Layers[0] as Digest))
    expect(progress.length).toBeGreaterThan(0)

    const wrong = await rejection(c.resolve(`${registry}/${repo}:v2`, parsePlatform('linux/amd64')))
    expect(hasCode(wrong, 'PLATFORM_NOT_FOUND')).toBe(true)
  })

  test('a Docker manifest list pushed by skopeo resolves per platform', async () => {
    const src = await mkdtemp(join(tmpdir(), 'tsbuild-src-'))
    const srcStore = new LocalContentStore(src)
    const amd = await writeTestImage(srcStore, { platform: 'linux/amd64', files: { arch: 'amd64' } })
    const arm = await writeTestImage(srcStore, { platform: 'linux/arm/v7', files: { arch: 'arm' } })
    await writeOciLayout(src, { multi: await writeTestIndex(srcStore, [amd.manifest, arm.manifest]) })
    await skopeo('copy', '--all', '--format=v2s2', '--dest-tls-verify=false', `oci:${src}:multi`, `docker://${registry}/${repo}:list`)

    const list = JSON.parse(await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${registry}/${repo}:list`)) as { mediaType: string; manifests: Array<{ digest: string; platform: { architecture: string } }> }
    expect(list.mediaType).toBe('application/vnd.docker.distribution.manifest.list.v2+json')
    const r = await client().pullImage(`${registry}/${repo}:list`, parsePlatform('linux/armhf'), store)
    expect(r.descriptor.mediaType).toBe(list.mediaType)
    expect(r.manifestDescriptor.digest).toBe(list.manifests.find((m) => m.platform.architecture === 'arm')!.digest)
    expect(r.config.architecture).toBe('arm')
  })

  test('an unknown tag or repository is NOT_FOUND naming the image', async () => {
    const img = await writeTestImage(store, { platform: 'linux/amd64', files: { a: 'a' } })
    await client().pushImage(store, img.manifest as Descriptor, `${registry}/${repo}:exists`)
    for (const ref of [`${registry}/${repo}:nope`, `${registry}/${repo}-missing:latest`]) {
      const err = await rejection(client().resolve(ref, parsePlatform('linux/amd64')))
      expect(hasCode(err, 'NOT_FOUND')).toBe(true)
      expect(err.message).toContain(ref)
    }
  })
})

describe('basic auth (htpasswd registry)', () => {
  const ref = (): string => `${authRegistry.host}/${repo}:auth`

  test('right credentials push and pull', async () => {
    const c = new RegistryClient({ auth: staticCredentials({ [authRegistry.host]: { username: authRegistry.username, password: authRegistry.password } }) })
    const img = await writeTestImage(store, { platform: 'linux/amd64', files: { secret: 'x' } })
    await c.pushImage(store, img.manifest as Descriptor, ref())
    const r = await c.resolve(ref(), parsePlatform('linux/amd64'))
    expect(r.manifestDescriptor.digest).toBe(img.manifest.digest)
    const info = JSON.parse(await skopeo('inspect', '--tls-verify=false', `--creds=${authRegistry.username}:${authRegistry.password}`, `docker://${ref()}`)) as { Digest: string }
    expect(info.Digest).toBe(img.manifest.digest)
  })

  test.each([
    ['wrong password', staticCredentials({ [authRegistry.host]: { username: authRegistry.username, password: 'wrong' } }), /rejected the credentials/],
    ['no credentials', anonymousCredentials, /requires authentication/],
  ])('%s is UNAUTHORIZED', async (_name, auth, message) => {
    const err = await rejection(new RegistryClient({ auth }).resolve(ref(), parsePlatform('linux/amd64')))
    expect(hasCode(err, 'UNAUTHORIZED')).toBe(true)
    expect(err.message).toMatch(message)
    expect(err.message).toContain(authRegistry.host)
  })
})
