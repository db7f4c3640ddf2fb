import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { LocalContentStore } from '../cache/content/index.js'
import { sha256 } from '../common/digest.js'
import { MediaType } from '../common/oci.js'
import type { ImageConfig, ImageIndex, ImageManifest } from '../common/oci.js'
import { withLayerTimes, writeImageIndex, writeImageManifest } from './image.js'

const layer = (mediaType: string, n: number) => ({ descriptor: { mediaType, digest: sha256(`blob${n}`), size: 10 + n }, diffID: sha256(`diff${n}`) })
const config: ImageConfig = {
  architecture: 'arm64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256('stale')] },
  history: [{ created: '2001-01-01T00:00:00Z', created_by: 'base' }, { created: '2030-01-01T00:00:00Z', created_by: 'RUN x' }, { created_by: 'COPY' }],
}

async function newStore (): Promise<LocalContentStore> {
  return new LocalContentStore(await mkdtemp(join(tmpdir(), 'tsbuild-image-')))
}

describe('writeImageManifest', () => {
  test('diff_ids come from the layers; SOURCE_DATE_EPOCH sets created and clamps later history', async () => {
    const store = await newStore()
    const img = await writeImageManifest(store, { config, layers: [layer(MediaType.ociLayerGzip, 1), layer(MediaType.ociLayerZstd, 2)], ociMediaTypes: true, sourceDateEpoch: 1_000_000_000 })
    expect(img.manifest).toMatchObject({ mediaType: MediaType.ociManifest, platform: { os: 'linux', architecture: 'arm64' } })
    const manifest = JSON.parse((await store.readBytes(img.manifest.digest)).toString()) as ImageManifest
    expect(manifest.layers.map((l) => l.digest)).toEqual([sha256('blob1'), sha256('blob2')])
    const cfg = JSON.parse((await store.readBytes(manifest.config.digest)).toString()) as ImageConfig
    expect(cfg.rootfs.diff_ids).toEqual([sha256('diff1'), sha256('diff2')])
    expect(cfg.created).toBe('2001-09-09T01:46:40Z')
    expect(cfg.history?.map((h) => h.created)).toEqual(['2001-01-01T00:00:00Z', '2001-09-09T01:46:40Z', '2001-09-09T01:46:40Z'])
  })

  test('the same input gives the same manifest digest', async () => {
    const opts = { config, layers: [layer(MediaType.ociLayerGzip, 1)], ociMediaTypes: true, sourceDateEpoch: 5 }
    const a = await writeImageManifest(await newStore(), opts)
    const b = await writeImageManifest(await newStore(), opts)
    expect(a.manifest.digest).toBe(b.manifest.digest)
  })

  test('Docker media types rename gzip layers and refuse zstd ones', async () => {
    const store = await newStore()
    const img = await writeImageManifest(store, { config, layers: [layer(MediaType.ociLayerGzip, 1)], ociMediaTypes: false })
    const manifest = JSON.parse((await store.readBytes(img.manifest.digest)).toString()) as ImageManifest
    expect(manifest.mediaType).toBe(MediaType.dockerManifest)
    expect(manifest.config.mediaType).toBe(MediaType.dockerConfig)
    expect(manifest.layers[0]!.mediaType).toBe(MediaType.dockerLayerGzip)
    await expect(writeImageManifest(store, { config, layers: [layer(MediaType.ociLayerZstd, 2)], ociMediaTypes: false })).rejects.toThrow(/zstd-compressed/)
  })

  test('an index lists every platform manifest', async () => {
    const store = await newStore()
    const a = await writeImageManifest(store, { config, layers: [], ociMediaTypes: true })
    const b = await writeImageManifest(store, { config: { ...config, architecture: 'amd64' }, layers: [], ociMediaTypes: true })
    const idx = await writeImageIndex(store, [a.manifest, b.manifest], { ociMediaTypes: true })
    const index = JSON.parse((await store.readBytes(idx.digest)).toString()) as ImageIndex
    expect(index.manifests.map((m) => m.platform?.architecture)).toEqual(['arm64', 'amd64'])
  })
})

describe('withLayerTimes (history times as BuildKit\'s exporter sets them)', () => {
  const T = (h: number) => `2024-05-01T${String(h).padStart(2, '0')}:00:00Z`
  const base = { created: T(1), created_by: 'base layer' }

  test('layer entries take their layer\'s time; metadata entries the first new layer time after them, then the one before them', () => {
    const cfg: ImageConfig = {
      architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] },
      history: [
        base,
        { created_by: 'ENV A=1', empty_layer: true },
        { created_by: 'RUN one' },
        { created_by: 'WORKDIR /x', empty_layer: true },
        { created_by: 'COPY two' },
        { created_by: 'CMD ["x"]', empty_layer: true },
      ],
    }
    const out = withLayerTimes(cfg, [T(9), T(3), T(4)])
    expect(out.history!.map((h) => h.created)).toEqual([T(1), T(3), T(3), T(3), T(4), T(4)])
    expect(out.created).toBe(T(4))
    expect(cfg.history![2]!.created).toBeUndefined() // the input is left as it was
  })

  test('a layer is never older than the layers below it (equal content an earlier build made keeps no older time)', () => {
    const cfg: ImageConfig = {
      architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] },
      history: [base, { created_by: 'RUN new' }, { created_by: 'COPY f /f' }, { created_by: 'CMD x', empty_layer: true }],
    }
    const out = withLayerTimes(cfg, [T(1), T(5), T(3)])
    expect(out.history!.map((h) => h.created)).toEqual([T(1), T(5), T(5), T(5)])
    expect(out.created).toBe(T(5))
  })

  test('times already in the history win; an image with no time anywhere has no created field', () => {
    const cfg: ImageConfig = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, history: [{ created_by: 'ENV A=1', empty_layer: true }] }
    expect(withLayerTimes(cfg, []).created).toBeUndefined()
    expect(withLayerTimes(cfg, []).history![0]!.created).toBeUndefined()
    const kept = withLayerTimes({ ...cfg, history: [{ created: T(7), created_by: 'RUN x' }] }, [T(8)])
    expect(kept.history![0]!.created).toBe(T(7))
    expect(kept.created).toBe(T(7))
  })

  test('the same layers give the same config, so a fully cached rebuild keeps its image digest', async () => {
    const cfg: ImageConfig = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, history: [base, { created_by: 'RUN one' }] }
    const write = async () => (await writeImageManifest(await newStore(), { config: withLayerTimes(cfg, [T(1), T(2)]), layers: [layer(MediaType.ociLayerGzip, 1), layer(MediaType.ociLayerGzip, 2)], ociMediaTypes: true })).manifest.digest
    expect(await write()).toBe(await write())
  })
})
