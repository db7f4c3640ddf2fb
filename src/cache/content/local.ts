import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, existsSync } from 'node:fs'
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { isDigest, sha256 } from '../../common/digest.js'
import type { Digest } from '../../common/digest.js'
import { TsbuildError } from '../../common/errors.js'
import type { BlobInfo, ContentStore, WriteOptions } from './types.js'

const DEFAULT_MAX_READ = 4 * 1024 * 1024

/**
 * Content store on a local directory (the state dir root): committed blobs at
 * `blobs/sha256/<hex>`, in-progress writes at `tmp/ingest-*`. A blob appears
 * under its digest only after its bytes were fsynced and verified, and the
 * final step is a rename, so readers never see partial content and two
 * processes writing the same blob both succeed with one good file.
 */
export class LocalContentStore implements ContentStore {
  readonly root: string
  private readonly blobsDir: string
  private readonly tmpDir: string
  private dirsReady: Promise<void> | undefined

  constructor (root: string) {
    this.root = root
    this.blobsDir = join(root, 'blobs', 'sha256')
    this.tmpDir = join(root, 'tmp')
  }

  path (digest: Digest): string {
    return join(this.blobsDir, checkedHex(digest))
  }

  async info (digest: Digest): Promise<BlobInfo | undefined> {
    try {
      const st = await stat(this.path(digest))
      return { digest, size: st.size }
    } catch (err) {
      if (isNotFound(err)) return undefined
      throw err
    }
  }

  read (digest: Digest, opts: { offset?: number } = {}): Readable {
    const p = this.path(digest)
    // Checked up front so callers get NOT_FOUND synchronously instead of as a stream error.
    if (!existsSync(p)) throw notFound(digest)
    const offset = opts.offset ?? 0
    if (!Number.isSafeInteger(offset) || offset < 0) throw new Error(`invalid read offset ${offset} for ${digest}`)
    return createReadStream(p, { start: offset })
  }

  async readBytes (digest: Digest, opts: { maxSize?: number } = {}): Promise<Buffer> {
    const maxSize = opts.maxSize ?? DEFAULT_MAX_READ
    const info = await this.info(digest)
    if (info === undefined) throw notFound(digest)
    if (info.size > maxSize) {
      throw new TsbuildError('TOO_LARGE', `blob ${digest} is ${info.size} bytes, over the ${maxSize}-byte limit for in-memory reads`)
    }
    const data = await readFile(this.path(digest))
    // Small blobs (manifests, configs) decide what else gets read: re-check them,
    // so on-disk corruption surfaces here rather than as a wrong image.
    const actual = sha256(data)
    if (actual !== digest) {
      throw new TsbuildError('DIGEST_MISMATCH', `stored blob ${this.path(digest)} is corrupted: content digest ${actual}, expected ${digest}`, {
        hint: `delete the file and pull or build the image again`,
      })
    }
    return data
  }

  async writeBytes (data: Uint8Array | string, opts: WriteOptions = {}): Promise<BlobInfo> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data
    // Bytes in hand name their blob up front: one already stored intact is not
    // written (and synced) again, so a rebuild that changed nothing writes no blobs.
    return await this.write(oneChunk(bytes), { ...opts, expected: opts.expected ?? { digest: sha256(bytes), size: bytes.byteLength } })
  }

  async write (source: Readable | AsyncIterable<Uint8Array>, opts: WriteOptions = {}): Promise<BlobInfo> {
    const { expected, signal } = opts
    if (expected !== undefined) checkedHex(expected.digest)
    try {
      signal?.throwIfAborted()
      if (expected !== undefined && await this.hasIntact(expected)) {
        destroySource(source)
        return { digest: expected.digest, size: expected.size }
      }
      await this.ensureDirs()
    } catch (err) {
      destroySource(source)
      throw wrapNoSpace(wrapAbort(err, signal), this.root)
    }
    const tmp = join(this.tmpDir, `ingest-${process.pid}-${randomBytes(8).toString('hex')}`)
    let committed = false
    try {
      const written = await writeVerified(tmp, source, opts)
      await rename(tmp, this.path(written.digest))
      committed = true
      await syncDir(this.blobsDir)
      return written
    } catch (err) {
      destroySource(source)
      throw wrapNoSpace(wrapAbort(err, signal), this.root)
    } finally {
      if (!committed) await unlink(tmp).catch(() => {})
    }
  }

  /**
   * A blob already under the expected name counts only with the expected size:
   * a short file left there (by an older tsbuild on a full disk) is removed so
   * the caller's write replaces it instead of every later read failing.
   */
  private async hasIntact (expected: BlobInfo): Promise<boolean> {
    const have = await this.info(expected.digest)
    if (have === undefined) return false
    if (have.size === expected.size) return true
    await unlink(this.path(expected.digest)).catch((err: unknown) => { if (!isNotFound(err)) throw err })
    return false
  }

  /** Copy a file into the store (the source file is left untouched). */
  async ingestFile (path: string, expected?: BlobInfo, signal?: AbortSignal): Promise<BlobInfo> {
    return await this.write(createReadStream(path), { ...(expected ? { expected } : {}), ...(signal ? { signal } : {}) })
  }

  async delete (digest: Digest): Promise<void> {
    try {
      await unlink(this.path(digest))
    } catch (err) {
      if (isNotFound(err)) throw notFound(digest)
      throw err
    }
  }

  async * list (): AsyncIterable<BlobInfo> {
    let names: string[]
    try {
      names = await readdir(this.blobsDir)
    } catch (err) {
      if (isNotFound(err)) return
      throw err
    }
    for (const name of names.sort()) {
      const digest = `sha256:${name}`
      if (!isDigest(digest)) continue
      const info = await this.info(digest)
      if (info !== undefined) yield info
    }
  }

  private async ensureDirs (): Promise<void> {
    this.dirsReady ??= (async () => {
      await mkdir(this.blobsDir, { recursive: true })
      await mkdir(this.tmpDir, { recursive: true })
    })()
    try {
      await this.dirsReady
    } catch (err) {
      this.dirsReady = undefined
      throw err
    }
  }
}

/** Stream into `tmp`, hashing as it goes; fsync and verify before returning. */
async function writeVerified (tmp: string, source: Readable | AsyncIterable<Uint8Array>, opts: WriteOptions): Promise<BlobInfo> {
  const { expected, signal } = opts
  const hash = createHash('sha256')
  let size = 0
  let fh: FileHandle | undefined = await open(tmp, 'wx', 0o644)
  try {
    for await (const chunk of source) {
      signal?.throwIfAborted()
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
      size += bytes.byteLength
      if (expected !== undefined && size > expected.size) {
        throw new TsbuildError('SIZE_MISMATCH', `blob ${expected.digest}: got more than the expected ${expected.size} bytes`)
      }
      hash.update(bytes)
      await writeAll(fh, bytes)
    }
    signal?.throwIfAborted()
    await fh.sync()
    // What reached the file, not what was handed in: the last word before the rename.
    const onDisk = (await fh.stat()).size
    if (onDisk !== size) throw new Error(`content write ${tmp}: ${onDisk} bytes on disk after writing ${size}`)
    await fh.close()
    fh = undefined
  } finally {
    await fh?.close()
  }
  const digest = `sha256:${hash.digest('hex')}` as Digest
  if (expected !== undefined) {
    if (size !== expected.size) {
      throw new TsbuildError('SIZE_MISMATCH', `blob ${expected.digest}: got ${size} bytes, expected ${expected.size}`)
    }
    if (digest !== expected.digest) {
      throw new TsbuildError('DIGEST_MISMATCH', `unexpected blob digest ${digest}, expected ${expected.digest}`)
    }
  }
  return { digest, size }
}

/**
 * One write(2) may take only part of the buffer (a filling disk takes what
 * fits, then fails with ENOSPC on the next call): keep writing the rest until
 * all of it is in or the system reports an error.
 */
export async function writeAll (fh: FileHandle, bytes: Uint8Array): Promise<void> {
  let offset = 0
  while (offset < bytes.byteLength) {
    const { bytesWritten } = await fh.write(bytes, offset, bytes.byteLength - offset)
    if (bytesWritten <= 0) throw new Error(`write accepted no bytes at offset ${offset} of ${bytes.byteLength}`)
    offset += bytesWritten
  }
}

// The rename is durable only once the directory entry is on disk.
async function syncDir (dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

async function * oneChunk (bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes
}

function checkedHex (digest: string): string {
  // The digest becomes a file name, so anything but sha256:<64 hex> is refused here.
  if (!isDigest(digest)) throw new TsbuildError('INVALID_REFERENCE', `invalid digest ${JSON.stringify(digest)}: expected sha256:<64 hex>`)
  return digest.slice('sha256:'.length)
}

function notFound (digest: Digest): TsbuildError {
  return new TsbuildError('NOT_FOUND', `blob ${digest} not found in the content store`)
}

function isNotFound (err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT'
}

function destroySource (source: Readable | AsyncIterable<Uint8Array>): void {
  if (source instanceof Readable && !source.destroyed) source.destroy()
}

/** A full disk (or quota) while writing blobs names the state dir it happened in. */
function wrapNoSpace (err: unknown, root: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  if (code !== 'ENOSPC' && code !== 'EDQUOT' || err instanceof TsbuildError) return err
  const what = code === 'ENOSPC' ? 'no space left' : 'disk quota exceeded'
  return new TsbuildError('IO', `${what} on the device holding the state dir ${root} (${code}) while writing a blob`, {
    hint: 'free space on that device (tsbuild prune removes build cache) or set TSBUILD_ROOT to a larger one',
    cause: err,
  })
}

function wrapAbort (err: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted === true && !(err instanceof TsbuildError)) {
    return new TsbuildError('CANCELLED', 'content write cancelled', { cause: err })
  }
  return err
}
