import { createHash } from 'node:crypto'
import type { Hash } from 'node:crypto'
import { Readable } from 'node:stream'
import { createGunzip, gzip } from 'node:zlib'
import { promisify } from 'node:util'
import { createRequire } from 'node:module'
import type * as Zstd from 'zstd-napi'
import type { ContentProvider, ContentStore } from '../cache/content/index.js'
import type { Digest } from '../common/digest.js'
import type { Descriptor } from '../common/oci.js'
import { TsbuildError } from '../common/errors.js'
import { DEFAULT_LEVEL, compressionOfMediaType, layerMediaType } from './compression.js'
import type { Compression } from './compression.js'
import type { CompressTask } from './compressWorker.js'
import type { ExportPool } from './exportPool.js'
import { layerTarStream } from './layerTar.js'

/**
 * Uncompressed bytes per independently compressed chunk. Fixed (never derived
 * from the thread count) because chunk boundaries decide the output bytes;
 * 4 MiB keeps the ratio within a fraction of a percent of one stream.
 */
export const CHUNK_SIZE = 4 * 1024 * 1024

/**
 * A layer's last chunk below this size is compressed on the main side
 * (gzip on libuv's threadpool, zstd inline) rather than in the worker pool:
 * most layers a build makes are a few kilobytes, and starting the pool's
 * threads for them costs more than compressing them. The bytes are the same
 * either way (same library, same level, same chunk), so digests do not move.
 */
const INLINE_CHUNK_LIMIT = 1024 * 1024
const gzipAsync = promisify(gzip)

export interface LayerOptions {
  compression: Compression
  level?: number
  ociMediaTypes?: boolean
  sourceDateEpoch?: number
  store: ContentStore
  pool: ExportPool
  signal?: AbortSignal
}

export interface Layer {
  descriptor: Descriptor
  /** Digest of the uncompressed tar, as listed in the image config's rootfs. */
  diffID: Digest
  uncompressedSize: number
}

/** Archive, compress and store a layer directory (an overlayfs upperdir). */
export async function createLayer (dir: string, opts: LayerOptions): Promise<Layer> {
  return await compressTarStream(layerTarStream(dir, opts.sourceDateEpoch !== undefined ? { sourceDateEpoch: opts.sourceDateEpoch } : {}), opts)
}

/**
 * Recompress an existing layer blob into another compression (force-compression).
 * The diffID is recomputed from the bytes and must match the one the image declares.
 */
export async function recompressLayer (blob: Descriptor, diffID: Digest, opts: LayerOptions): Promise<Layer> {
  const layer = await compressTarStream(openUncompressed(opts.store, blob), opts)
  if (layer.diffID !== diffID) {
    throw new TsbuildError('DIGEST_MISMATCH', `layer ${blob.digest} uncompresses to ${layer.diffID}, but the image config lists ${diffID}`)
  }
  return layer
}

/** A layer blob's uncompressed tar stream. */
export function openUncompressed (store: ContentProvider, blob: Descriptor): Readable {
  const compression = compressionOfMediaType(blob.mediaType)
  const raw = store.read(blob.digest)
  switch (compression) {
    case 'uncompressed': return raw
    case 'gzip': return raw.pipe(createGunzip()).on('error', () => raw.destroy())
    case 'zstd': return raw.pipe(new ((createRequire(import.meta.url)('zstd-napi') as typeof Zstd).DecompressStream)()).on('error', () => raw.destroy())
    default: throw new TsbuildError('UNSUPPORTED_MEDIA_TYPE', `layer ${blob.digest} has media type ${blob.mediaType}, which tsbuild cannot uncompress`)
  }
}

/**
 * Tar bytes → fixed-size chunks → compressed in the pool in parallel →
 * written in order into the store. The diffID hash runs over the tar as it
 * passes; the compressed digest over the output as it is written. At most
 * two chunks per worker are in flight, so memory stays bounded whatever the
 * layer size.
 */
export async function compressTarStream (tar: AsyncIterable<Uint8Array>, opts: LayerOptions): Promise<Layer> {
  const diffHash = createHash('sha256')
  const blobHash = createHash('sha256')
  let uncompressedSize = 0
  const counted = async function * (): AsyncGenerator<Uint8Array> {
    for await (const piece of tar) {
      opts.signal?.throwIfAborted()
      diffHash.update(piece)
      uncompressedSize += piece.length
      yield piece
    }
  }
  const output = opts.compression === 'uncompressed'
    ? counted()
    : compressChunks(rechunk(counted(), CHUNK_SIZE), opts)
  const info = await opts.store.write(hashing(output, blobHash), opts.signal !== undefined ? { signal: opts.signal } : {})
  const digest = `sha256:${blobHash.digest('hex')}` as Digest
  if (info.digest !== digest) throw new Error(`content store recorded ${info.digest} for a layer that hashed to ${digest}`)
  return {
    descriptor: { mediaType: layerMediaType(opts.compression, opts.ociMediaTypes ?? true), digest, size: info.size },
    diffID: `sha256:${diffHash.digest('hex')}` as Digest,
    uncompressedSize,
  }
}

async function * hashing (source: AsyncIterable<Uint8Array>, hash: Hash): AsyncGenerator<Uint8Array> {
  for await (const piece of source) {
    hash.update(piece)
    yield piece
  }
}

/** Regroup a byte stream into chunks of exactly `size` bytes (the last one shorter), each owning its ArrayBuffer. */
export async function * rechunk (source: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  let buf = new Uint8Array(size)
  let filled = 0
  for await (const piece of source) {
    let offset = 0
    while (offset < piece.length) {
      const n = Math.min(size - filled, piece.length - offset)
      buf.set(piece.subarray(offset, offset + n), filled)
      filled += n
      offset += n
      if (filled === size) {
        yield buf
        buf = new Uint8Array(size)
        filled = 0
      }
    }
  }
  if (filled > 0) yield buf.slice(0, filled)
}

async function * compressChunks (chunks: AsyncIterable<Uint8Array>, opts: LayerOptions): AsyncGenerator<Uint8Array> {
  const kind = opts.compression === 'zstd' ? 'zstd' : 'gzip'
  const level = opts.level ?? DEFAULT_LEVEL[kind]
  const window = Math.max(2, opts.pool.maxThreads * 2)
  const inFlight: Array<Promise<Uint8Array>> = []
  try {
    for await (const data of chunks) {
      const task: CompressTask = { kind, level, data }
      // Only the last chunk is shorter than CHUNK_SIZE.
      const run = data.length < INLINE_CHUNK_LIMIT
        ? compressInline(task)
        : opts.pool.run(task, { transferList: [data.buffer as ArrayBuffer], ...(opts.signal !== undefined ? { signal: opts.signal } : {}) }) as Promise<Uint8Array>
      run.catch(() => {}) // awaited in order below; this only keeps a later failure from going unhandled meanwhile
      inFlight.push(run)
      if (inFlight.length >= window) yield await inFlight.shift()!
    }
    while (inFlight.length > 0) yield await inFlight.shift()!
  } finally {
    inFlight.length = 0
  }
}

async function compressInline (task: CompressTask): Promise<Uint8Array> {
  if (task.kind === 'gzip') return await gzipAsync(task.data, { level: task.level })
  const zstd = createRequire(import.meta.url)('zstd-napi') as typeof Zstd
  return zstd.compress(task.data, { compressionLevel: task.level })
}
