import type { Readable } from 'node:stream'
import type { Digest } from '../../common/digest.js'

/**
 * Content store contracts (containerd's content.Provider / Ingester / Store).
 * Blobs are addressed by digest and immutable; a blob is visible only after it
 * was verified against its expected digest and size.
 */
export interface BlobInfo {
  digest: Digest
  size: number
}

export interface ContentProvider {
  /** Stat a blob; undefined when absent. */
  info (digest: Digest): Promise<BlobInfo | undefined>
  /** Stream a blob's bytes, optionally from an offset. Throws TsbuildError NOT_FOUND when absent. */
  read (digest: Digest, opts?: { offset?: number }): Readable
  /** Read a small blob (manifests, configs) fully; refuses blobs over `maxSize` (default 4 MiB). */
  readBytes (digest: Digest, opts?: { maxSize?: number }): Promise<Buffer>
  /** Absolute path of a committed blob, for zero-copy consumers (tar packers, hard links). */
  path (digest: Digest): string
}

export interface WriteOptions {
  /** When given, the write is rejected (and nothing kept) unless the bytes match. */
  expected?: BlobInfo
  signal?: AbortSignal
}

export interface ContentIngester {
  /**
   * Write a blob from a stream: temp file inside the store, fsync, verify,
   * rename into place. Writing a blob that already exists is a dedupe, not an
   * error. Always consumes or destroys the source, even on error.
   */
  write (source: Readable | AsyncIterable<Uint8Array>, opts?: WriteOptions): Promise<BlobInfo>
  writeBytes (data: Uint8Array | string, opts?: WriteOptions): Promise<BlobInfo>
}

export interface ContentStore extends ContentProvider, ContentIngester {
  delete (digest: Digest): Promise<void>
  list (): AsyncIterable<BlobInfo>
}
