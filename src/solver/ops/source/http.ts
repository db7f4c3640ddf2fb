import { failOnHttpError, fetchForDownload } from '../../../common/fetchPorts.js'
import { createHash, randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { chmod, chown, copyFile, mkdir, readFile, rename, rm, utimes, writeFile } from 'node:fs/promises'
import { join, posix } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'
import { snapshotName, type Snapshotter } from '../../../cache/snapshots/index.js'
import type { CacheRecord } from '../../../cache/records/index.js'
import { canonicalJson, digestHex, sha256, type Digest } from '../../../common/digest.js'
import { TsbuildError } from '../../../common/errors.js'
import type { HttpSourceAttrs } from '../../../llb/index.js'
import type { CacheMap, OpContext, OpRunner, Result } from '../../scheduler/types.js'

export interface HttpSourceDeps {
  snapshotter: Snapshotter
  stateDir: string
  fetch?: typeof globalThis.fetch
}

/** What is remembered per URL and file attributes, to send conditional requests next time. */
interface Validators { etag?: string; lastModified?: string; content: Digest; snapshot: string }

interface Download { content: Digest; snapshot: string }

/**
 * `ADD <url>`: one file, downloaded into a new committed snapshot. With a
 * checksum, the checksum is the cache key and a cache hit (or an existing
 * snapshot) needs no download. Without one, `cacheMap` downloads (sending
 * If-None-Match / If-Modified-Since from the last download of the same URL)
 * and keys by the content digest; `exec` then reuses that download. The
 * result is one layer holding the file.
 */
export class HttpSource implements OpRunner {
  readonly resource = 'io' as const
  private readonly attrs: HttpSourceAttrs
  private readonly deps: Required<HttpSourceDeps>
  private downloaded?: Promise<Download>

  constructor (attrs: HttpSourceAttrs, deps: HttpSourceDeps) {
    this.attrs = attrs
    this.deps = { fetch: globalThis.fetch, ...deps }
  }

  get filename (): string {
    const name = this.attrs.filename ?? lastSegment(this.attrs.url)
    if (name === '' || name === '.' || name === '..' || name.includes('/')) {
      throw new TsbuildError('INVALID_INSTRUCTION', `cannot use ${JSON.stringify(name)} as the file name for ${this.attrs.url}`)
    }
    return name
  }

  async cacheMap (ctx: OpContext): Promise<CacheMap> {
    const content = this.attrs.checksum ?? (await this.download(ctx)).content
    return { digest: sha256(canonicalJson({ kind: 'http', content, file: this.fileAttrs() })), deps: [], explain: { url: this.attrs.url, content } }
  }

  async exec (ctx: OpContext): Promise<Result> {
    if (this.attrs.checksum !== undefined) {
      const name = this.snapshotFor(this.attrs.checksum)
      if (await this.deps.snapshotter.stat(snapshotName(name)) !== undefined) return { layers: [name] }
    }
    return { layers: [(await this.download(ctx)).snapshot] }
  }

  load (record: CacheRecord): Result {
    return { layers: [...(record.layers ?? [])] }
  }

  private fileAttrs (): Record<string, unknown> {
    return { name: this.filename, mode: this.attrs.chmod ?? 0o600, uid: this.attrs.uid ?? 0, gid: this.attrs.gid ?? 0 }
  }

  private snapshotFor (content: Digest): string {
    return `http-${digestHex(sha256(canonicalJson({ content, file: this.fileAttrs() })))}`
  }

  // One download per op instance, shared by cacheMap and exec.
  private async download (ctx: OpContext): Promise<Download> {
    this.downloaded ??= this.fetchIntoSnapshot(ctx)
    this.downloaded.catch(() => { this.downloaded = undefined })
    return await this.downloaded
  }

  private async fetchIntoSnapshot (ctx: OpContext): Promise<Download> {
    const { url } = this.attrs
    const validatorsPath = join(this.deps.stateDir, 'http', `${digestHex(sha256(canonicalJson({ url, file: this.fileAttrs() })))}.json`)
    const previous = await readValidators(validatorsPath)
    const headers: Record<string, string> = {}
    const previousIsUsable = previous !== undefined && await this.deps.snapshotter.stat(snapshotName(previous.snapshot)) !== undefined &&
      (this.attrs.checksum === undefined || previous.content === this.attrs.checksum)
    if (previousIsUsable) {
      if (previous.etag !== undefined) headers['if-none-match'] = previous.etag
      if (previous.lastModified !== undefined) headers['if-modified-since'] = previous.lastModified
    }
    const res = await fetchForDownload(this.deps.fetch, url, { headers, signal: ctx.signal, redirect: 'follow' }, { subject: url, name: url })
    if (res.status === 304 && previousIsUsable) {
      await res.body?.cancel()
      return { content: previous.content, snapshot: previous.snapshot }
    }
    await failOnHttpError(res, url)
    const tmpDir = join(this.deps.stateDir, 'tmp')
    await mkdir(tmpDir, { recursive: true })
    const tmp = join(tmpDir, `http-${randomBytes(8).toString('hex')}`)
    try {
      const hash = createHash('sha256')
      const total = Number(res.headers.get('content-length') ?? Number.NaN)
      let current = 0
      let lastEmit = 0
      const body = Readable.fromWeb(res.body! as WebReadableStream<Uint8Array>)
      body.on('data', (chunk: Buffer) => {
        hash.update(chunk)
        current += chunk.length
        if (Date.now() - lastEmit > 200) {
          lastEmit = Date.now()
          ctx.emit({ type: 'progress', digest: ctx.vertex, id: url, name: `downloading ${url}`, current, ...(Number.isFinite(total) ? { total } : {}), time: lastEmit })
        }
      })
      await pipeline(body, createWriteStream(tmp, { mode: 0o600 }), { signal: ctx.signal })
      ctx.emit({ type: 'progress', digest: ctx.vertex, id: url, name: `downloading ${url}`, current, total: current, done: true, time: Date.now() })
      const content = `sha256:${hash.digest('hex')}` as Digest
      if (this.attrs.checksum !== undefined && content !== this.attrs.checksum) {
        throw new TsbuildError('DIGEST_MISMATCH', `checksum of ${url} does not match: expected ${this.attrs.checksum}, got ${content}`)
      }
      const lastModified = res.headers.get('last-modified') ?? undefined
      const snapshot = this.snapshotFor(content)
      await this.deps.snapshotter.createCommitted(snapshotName(snapshot), async (fsDir) => {
        const file = join(fsDir, this.filename)
        await moveFile(tmp, file)
        await chmod(file, this.attrs.chmod ?? 0o600)
        await chown(file, this.attrs.uid ?? 0, this.attrs.gid ?? 0)
        const mtime = lastModified !== undefined ? new Date(lastModified) : undefined
        if (mtime !== undefined && !Number.isNaN(mtime.getTime())) await utimes(file, mtime, mtime)
      })
      const etag = res.headers.get('etag') ?? undefined
      await writeValidators(validatorsPath, { content, snapshot, ...(etag !== undefined ? { etag } : {}), ...(lastModified !== undefined ? { lastModified } : {}) })
      return { content, snapshot }
    } catch (err) {
      if (ctx.signal.aborted && !(err instanceof TsbuildError)) throw new TsbuildError('CANCELLED', `download of ${url} was cancelled`, { cause: err })
      throw err
    } finally {
      await rm(tmp, { force: true })
    }
  }
}

function lastSegment (url: string): string {
  try {
    const segments = posix.normalize(new URL(url).pathname).split('/').filter((s) => s !== '')
    const last = segments.at(-1)
    return last === undefined ? 'index' : decodeURIComponent(last)
  } catch {
    throw new TsbuildError('INVALID_INSTRUCTION', `invalid URL ${JSON.stringify(url)}`)
  }
}

async function moveFile (from: string, to: string): Promise<void> {
  try {
    await rename(from, to)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err
    await copyFile(from, to)
  }
}

async function readValidators (path: string): Promise<Validators | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Validators
  } catch {
    return undefined
  }
}

async function writeValidators (path: string, v: Validators): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true })
  const tmp = `${path}.${randomBytes(6).toString('hex')}`
  await writeFile(tmp, JSON.stringify(v))
  await rename(tmp, path)
}
