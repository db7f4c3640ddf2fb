import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import type { Digest } from '../../common/digest.js'
import { MediaType } from '../../common/oci.js'
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest } from '../../common/oci.js'
import { LocalContentStore } from '../content/local.js'
import { ImageStore } from './imageStore.js'
import { imageSize, listPlatforms, readImageConfig, resolveManifest } from './readImage.js'

async function fresh (): Promise<{ root: string; images: ImageStore; content: LocalContentStore }> {
  const root = await mkdtemp(join(tmpdir(), 'tsbuild-images-'))
  return { root, images: await ImageStore.open(root), content: new LocalContentStore(root) }
}

async function putJson (content: LocalContentStore, mediaType: string, value: unknown): Promise<Descriptor> {
  const info = await content.writeBytes(JSON.stringify(value))
  return { mediaType, ...info }
}

/** One manifest per architecture (one shared layer), under an index. */
async function seedImage (content: LocalContentStore, archs: string[]): Promise<{ index: Descriptor; manifests: Descriptor[] }> {
  const layer = { mediaType: MediaType.ociLayer, ...(await content.writeBytes('not really a tar')) }
  const manifests: Descriptor[] = []
  for (const architecture of archs) {
    const config: ImageConfig = { architecture, os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] } }
    const configDesc = await putJson(content, MediaType.ociConfig, config)
    const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDesc, layers: [layer] }
    manifests.push({ ...(await putJson(content, MediaType.ociManifest, manifest)), platform: { os: 'linux', architecture } })
  }
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests }
  return { index: await putJson(content, MediaType.ociIndex, index), manifests }
}

describe('ImageStore', () => {
  test('put, get by short and full name, list, and the index.json entry skopeo reads', async () => {
    const { root, images, content } = await fresh()
    const { index } = await seedImage(content, ['amd64'])
    const stored = await images.put('app', index)
    expect(stored.name).toBe('docker.io/library/app:latest')
    for (const name of ['app', 'app:latest', 'docker.io/library/app:latest', index.digest, index.digest.slice(7, 19)]) {
      expect((await images.get(name)).descriptor.digest).toBe(index.digest)
    }
    expect((await images.list()).map((i) => i.name)).toEqual(['docker.io/library/app:latest'])
    const onDisk = JSON.parse(await readFile(join(root, 'index.json'), 'utf8')) as ImageIndex
    expect(onDisk.manifests).toEqual([expect.objectContaining({
      digest: index.digest,
      annotations: { 'org.opencontainers.image.ref.name': 'app', 'io.containerd.image.name': 'docker.io/library/app:latest' },
    })])
    expect(JSON.parse(await readFile(join(root, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' })
  })

  test('naming the same image again leaves index.json untouched; a new digest rewrites it', async () => {
    const { root, images, content } = await fresh()
    const a = await seedImage(content, ['amd64'])
    await images.put('app', a.index)
    const before = await stat(join(root, 'index.json'))
    await images.put('app', a.index)
    expect((await stat(join(root, 'index.json'))).ino).toBe(before.ino)
    const b = await seedImage(content, ['arm64'])
    await images.put('app', b.index)
    expect((await stat(join(root, 'index.json'))).ino).not.toBe(before.ino)
    expect((await images.get('app')).descriptor.digest).toBe(b.index.digest)
  })

  test('put replaces the image a name pointed to; tag adds a name; remove drops only that name', async () => {
    const { images, content } = await fresh()
    const a = await seedImage(content, ['amd64'])
    const b = await seedImage(content, ['arm64'])
    await images.put('app', a.index)
    await images.put('app:latest', b.index)
    expect((await images.get('app')).descriptor.digest).toBe(b.index.digest)
    await images.tag('app', 'other:v1')
    expect((await images.list()).map((i) => i.name)).toEqual(['docker.io/library/app:latest', 'docker.io/library/other:v1'])
    await images.remove('app')
    expect((await images.list()).map((i) => [i.name, i.descriptor.digest])).toEqual([['docker.io/library/other:v1', b.index.digest]])
    expect(await content.info(b.index.digest)).toBeDefined() // blobs stay until GC
  })

  test.each([['get'], ['remove']] as const)('%s of an unknown image is NOT_FOUND and names it', async (op) => {
    const { images } = await fresh()
    await expect(images[op]('nope:v9')).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('nope:v9') })
  })

  test('name@digest finds the names of that repository at that digest, the tag ignored; another repository or digest is not found', async () => {
    const { images, content } = await fresh()
    const a = await seedImage(content, ['amd64'])
    const b = await seedImage(content, ['arm64'])
    await images.put('busybox:1', a.index)
    await images.put('busybox:2', a.index)
    await images.put('other', a.index)
    await images.put('busybox:3', b.index)
    const match = await images.resolve(`busybox@${a.index.digest}`)
    expect(match).toEqual({ by: 'digest', digest: a.index.digest, images: [expect.objectContaining({ name: 'docker.io/library/busybox:1' }), expect.objectContaining({ name: 'docker.io/library/busybox:2' })] })
    for (const ref of [`busybox:9@${a.index.digest}`, `docker.io/library/busybox@${a.index.digest}`]) {
      expect((await images.get(ref)).descriptor.digest).toBe(a.index.digest)
    }
    expect(await images.find(`nothere@${a.index.digest}`)).toBeUndefined()
    await expect(images.get(`nothere@${a.index.digest}`)).rejects.toMatchObject({
      code: 'NOT_FOUND', hint: `${a.index.digest} is stored as busybox:1, busybox:2, other:latest: use that name, or the bare digest`,
    })
    await expect(images.get(`busybox@sha256:${'0'.repeat(64)}`)).rejects.toMatchObject({ code: 'NOT_FOUND', hint: expect.stringContaining('tsbuild images') })
  })

  test('a one-platform image is found by its config digest (the ID --iidfile writes), with every name it has', async () => {
    const { images, content } = await fresh()
    const { manifests } = await seedImage(content, ['amd64'])
    await images.put('app', manifests[0]!)
    await images.tag('app', 'other:v1')
    const manifest = JSON.parse((await content.readBytes(manifests[0]!.digest)).toString()) as ImageManifest
    const match = await images.resolve(manifest.config.digest)
    expect(match).toMatchObject({ by: 'id', digest: manifests[0]!.digest })
    expect(match!.images.map((i) => i.name)).toEqual(['docker.io/library/app:latest', 'docker.io/library/other:v1'])
    // Only a whole config digest: a prefix of one is not an image ID here.
    expect(await images.resolve(manifest.config.digest.slice(7, 19))).toBeUndefined()
    expect(await images.resolve(`sha256:${'0'.repeat(64)}`)).toBeUndefined()
  })

  test('an ID prefix shared by two images is ambiguous and names both', async () => {
    const { images } = await fresh()
    const fake = (tail: string): Descriptor => ({ mediaType: MediaType.ociManifest, digest: `sha256:abcdef${tail.repeat(58)}` as Digest, size: 1 })
    await images.put('one', fake('1'))
    await images.put('two', fake('2'))
    await expect(images.resolve('abcdef')).rejects.toMatchObject({
      code: 'INVALID_REFERENCE',
      message: `image ID prefix abcdef is ambiguous: it matches 2 images: sha256:abcdef${'1'.repeat(58)} (one:latest); sha256:abcdef${'2'.repeat(58)} (two:latest)`,
    })
    expect((await images.get('abcdef2')).name).toBe('docker.io/library/two:latest')
  })

  test('remove by ID: one name goes; several are a CONFLICT unless forced, then all go', async () => {
    const { images, content } = await fresh()
    const a = await seedImage(content, ['amd64'])
    const b = await seedImage(content, ['arm64'])
    await images.put('solo', b.index)
    expect((await images.remove(b.index.digest.slice(7, 19))).map((i) => i.name)).toEqual(['docker.io/library/solo:latest'])
    await images.put('app', a.index)
    await images.put('other:v1', a.index)
    const id = a.index.digest.slice(7, 19)
    await expect(images.remove(id)).rejects.toMatchObject({
      code: 'CONFLICT', message: `conflict: unable to delete ${id} (must be forced) - image is referenced in multiple repositories: app:latest, other:v1`,
    })
    expect(await images.list()).toHaveLength(2)
    expect((await images.remove(a.index.digest, { force: true })).map((i) => i.name)).toEqual(['docker.io/library/app:latest', 'docker.io/library/other:v1'])
    expect(await images.list()).toEqual([])
  })

  test('remove by name@digest drops every name of that repository at the digest, none of another', async () => {
    const { images, content } = await fresh()
    const a = await seedImage(content, ['amd64'])
    for (const name of ['app:1', 'app:2', 'keep']) await images.put(name, a.index)
    expect((await images.remove(`app@${a.index.digest}`)).map((i) => i.name)).toEqual(['docker.io/library/app:1', 'docker.io/library/app:2'])
    expect((await images.list()).map((i) => i.name)).toEqual(['docker.io/library/keep:latest'])
  })

  test('entries written by other tools are kept and readable by their ref name', async () => {
    const { root, images, content } = await fresh()
    const { index } = await seedImage(content, ['amd64'])
    const foreign = [{ ...index, annotations: { 'org.opencontainers.image.ref.name': 'legacy:1' } }, { ...index }]
    await writeFile(join(root, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: foreign }))
    await images.put('app', index)
    const onDisk = JSON.parse(await readFile(join(root, 'index.json'), 'utf8')) as ImageIndex
    expect(onDisk.manifests).toHaveLength(3)
    expect((await images.get('legacy:1')).descriptor.digest).toBe(index.digest)
  })

  test('concurrent puts of different names all land', async () => {
    const { images, content } = await fresh()
    const { index } = await seedImage(content, ['amd64'])
    await Promise.all(Array.from({ length: 12 }, async (_, i) => await images.put(`app:v${i}`, index)))
    expect(await images.list()).toHaveLength(12)
  })

  test('refuses to name a blob that is not a manifest or index', async () => {
    const { images, content } = await fresh()
    const blob = { mediaType: MediaType.ociLayer, ...(await content.writeBytes('x')) }
    await expect(images.put('app', blob)).rejects.toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' })
  })
})

describe('reading stored images', () => {
  test('platforms, per-platform manifest, config and size', async () => {
    const { content } = await fresh()
    const { index, manifests } = await seedImage(content, ['amd64', 'arm64'])
    expect(await listPlatforms(content, index)).toEqual([{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }])
    const arm = await resolveManifest(content, index, { platform: { os: 'linux', architecture: 'aarch64' } })
    expect(arm.descriptor.digest).toBe(manifests[1]!.digest)
    expect((await readImageConfig(content, arm.manifest)).architecture).toBe('arm64')
    // An amd64 v2+ host runs plain amd64 images, as BuildKit's platform matcher allows.
    const v3 = await resolveManifest(content, index, { platform: { os: 'linux', architecture: 'amd64', variant: 'v3' } })
    expect(v3.descriptor.digest).toBe(manifests[0]!.digest)
    await expect(resolveManifest(content, index, { platform: { os: 'linux', architecture: 's390x' }, imageName: 'app' }))
      .rejects.toMatchObject({ code: 'PLATFORM_NOT_FOUND', message: expect.stringMatching(/app .*linux\/s390x.*linux\/amd64, linux\/arm64/) })
    // index + 2 manifests + 2 configs + 1 shared layer, each counted once
    let expected = index.size
    for (const m of manifests) {
      const manifest = JSON.parse((await content.readBytes(m.digest)).toString()) as ImageManifest
      expected += m.size + manifest.config.size
    }
    expected += 'not really a tar'.length
    expect(await imageSize(content, index)).toBe(expected)
  })

  test('a single manifest reports the platform from its config', async () => {
    const { content } = await fresh()
    const { manifests } = await seedImage(content, ['arm64'])
    const bare: Descriptor = { mediaType: manifests[0]!.mediaType, digest: manifests[0]!.digest as Digest, size: manifests[0]!.size }
    expect(await listPlatforms(content, bare)).toEqual([{ os: 'linux', architecture: 'arm64' }])
    expect((await resolveManifest(content, bare)).descriptor.digest).toBe(bare.digest)
  })
})
