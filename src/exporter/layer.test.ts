import { createHash, randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import { compress as zstdCompress, decompress as zstdDecompress } from 'zstd-napi'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { LocalContentStore } from '../cache/content/index.js'
import { MediaType } from '../common/oci.js'
import { CHUNK_SIZE, createLayer, recompressLayer } from './layer.js'
import { createExportPool } from './exportPool.js'
import type { ExportPool } from './exportPool.js'
import { layerTarStream } from './layerTar.js'

let pools: ExportPool[]
beforeAll(async () => { pools = [await createExportPool({ maxThreads: 1 }), await createExportPool({ maxThreads: 3 })] })
afterAll(async () => { await Promise.all(pools.map((p) => p.destroy())) })

/** Bigger than several chunks, so the parallel path and the ordering are exercised. */
async function makeLayerDir (): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-layerdir-'))
  await mkdir(join(dir, 'data'))
  const seed = randomBytes(64 * 1024)
  for (let i = 0; i < 6; i++) {
    const body = Buffer.concat(Array.from({ length: 40 }, (_, j) => (j % 3 === 0 ? seed : Buffer.alloc(64 * 1024, i + j))))
    await writeFile(join(dir, 'data', `f${i}`), body)
  }
  return dir
}

async function tarOf (dir: string): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const p of layerTarStream(dir)) parts.push(p)
  return Buffer.concat(parts)
}

describe('createLayer', () => {
  test.each(['gzip', 'zstd', 'uncompressed'] as const)('%s: digests match the bytes and do not depend on the thread count', async (compression) => {
    const dir = await makeLayerDir()
    const store = new LocalContentStore(await mkdtemp(join(tmpdir(), 'tsbuild-store-')))
    const [one, three] = [await createLayer(dir, { compression, store, pool: pools[0]! }), await createLayer(dir, { compression, store, pool: pools[1]! })]
    expect(three).toEqual(one)
    const tar = await tarOf(dir)
    expect(tar.length).toBeGreaterThan(3 * CHUNK_SIZE)
    expect(one.uncompressedSize).toBe(tar.length)
    expect(one.diffID).toBe(`sha256:${createHash('sha256').update(tar).digest('hex')}`)
    const blob = await store.readBytes(one.descriptor.digest, { maxSize: 1 << 30 })
    expect(one.descriptor.size).toBe(blob.length)
    const unpacked = compression === 'gzip' ? gunzipSync(blob) : compression === 'zstd' ? zstdDecompress(blob) : blob
    expect(Buffer.compare(unpacked, tar)).toBe(0)
    expect(one.descriptor.mediaType).toBe({ gzip: MediaType.ociLayerGzip, zstd: MediaType.ociLayerZstd, uncompressed: MediaType.ociLayer }[compression])
  })

  test.each(['gzip', 'zstd'] as const)('%s: a small layer is compressed without the pool, into the bytes a pool thread makes', async (compression) => {
    const dir = await mkdtemp(join(tmpdir(), 'tsbuild-layerdir-'))
    await writeFile(join(dir, 'small'), 'a few bytes\n'.repeat(500))
    const store = new LocalContentStore(await mkdtemp(join(tmpdir(), 'tsbuild-store-')))
    const unusable: ExportPool = { maxThreads: 2, run: async () => { throw new Error('the pool was used') }, destroy: async () => {} }
    const layer = await createLayer(dir, { compression, store, pool: unusable })
    const tar = await tarOf(dir)
    // What compressWorker.ts makes of the same single chunk.
    const expected = compression === 'gzip' ? gzipSync(tar, { level: 6 }) : zstdCompress(tar, { compressionLevel: 3 })
    expect(Buffer.compare(await store.readBytes(layer.descriptor.digest, { maxSize: 1 << 20 }), expected)).toBe(0)
  })

  test('several layers at once share the pool', async () => {
    const store = new LocalContentStore(await mkdtemp(join(tmpdir(), 'tsbuild-store-')))
    const dirs = await Promise.all([makeLayerDir(), makeLayerDir(), makeLayerDir()])
    const layers = await Promise.all(dirs.map((d) => createLayer(d, { compression: 'gzip', store, pool: pools[1]! })))
    for (const [i, d] of dirs.entries()) expect(layers[i]!.diffID).toBe(`sha256:${createHash('sha256').update(await tarOf(d)).digest('hex')}`)
  })

  test('recompressLayer turns a gzip blob into zstd with the same diffID, Docker types for gzip when asked', async () => {
    const store = new LocalContentStore(await mkdtemp(join(tmpdir(), 'tsbuild-store-')))
    const gz = await createLayer(await makeLayerDir(), { compression: 'gzip', store, pool: pools[1]!, ociMediaTypes: false })
    expect(gz.descriptor.mediaType).toBe(MediaType.dockerLayerGzip)
    const zst = await recompressLayer(gz.descriptor, gz.diffID, { compression: 'zstd', store, pool: pools[1]! })
    expect(zst.diffID).toBe(gz.diffID)
    expect(zst.descriptor.mediaType).toBe(MediaType.ociLayerZstd)
    await expect(recompressLayer(gz.descriptor, zst.descriptor.digest, { compression: 'zstd', store, pool: pools[1]! })).rejects.toThrow(/uncompresses to/)
  })
})
