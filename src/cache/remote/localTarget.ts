import { randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { copyFile, open, readFile, rename, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { digestHex, sha256, type Digest } from '../../common/digest.js'
import { ensureDir, fsError, isFsError } from '../../common/ensureDir.js'
import { TsbuildError } from '../../common/errors.js'
import { MediaType, type Descriptor, type ImageIndex, type ImageManifest } from '../../common/oci.js'
import type { ContentProvider, ContentStore } from '../content/index.js'
import { cacheManifest, decodeCacheContents, type CacheConfig, type CacheContents } from './format.js'
import type { CacheTarget } from './target.js'

const REF_NAME = 'org.opencontainers.image.ref.name'

/**
 * `type=local`: an OCI image layout dir (`oci-layout`, `index.json`,
 * `blobs/sha256/`), as BuildKit's local cache is. `index.json` names the
 * cache manifest under the tag (default `latest`); it is replaced by rename.
 */
export class LocalCacheTarget implements CacheTarget {
  readonly name: string
  constructor (readonly dir: string, private readonly tag = 'latest') {
    this.name = `dir ${dir}`
  }

  private blobsReady?: Promise<void>

  /** The layout's directories, made once; a bad dest (a file, /proc) is one error naming it. */
  private async ensureBlobsDir (): Promise<void> {
    this.blobsReady ??= (async () => {
      const purpose = { what: 'cache export type=local' }
      await ensureDir(this.dir, purpose)
      await ensureDir(join(this.dir, 'blobs', 'sha256'), purpose)
    })()
    await this.blobsReady
  }

  /** Filesystem errors while writing name the cache dir and the cause, in one line. */
  private async writing<T> (work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (err) {
      if (!isFsError(err)) throw err
      throw fsError(err, this.dir, { what: 'cache export type=local' }, err.path !== undefined ? `${err.syscall ?? 'write'} ${err.path}` : undefined)
    }
  }

  private blobPath (digest: Digest): string { return join(this.dir, 'blobs', 'sha256', digestHex(digest)) }

  async read (): Promise<CacheContents | undefined> {
    let index: ImageIndex
    try {
      index = JSON.parse(await readFile(join(this.dir, 'index.json'), 'utf8')) as ImageIndex
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw new TsbuildError('UNSUPPORTED_MEDIA_TYPE', `cache ${this.name}: index.json is not valid JSON`, { cause: err })
    }
    const entry = index.manifests?.find((m) => m.annotations?.[REF_NAME] === this.tag) ?? (index.manifests?.length === 1 ? index.manifests[0] : undefined)
    if (entry === undefined) return undefined
    const manifest = JSON.parse(await readFile(this.blobPath(entry.digest), 'utf8')) as ImageManifest
    const config = JSON.parse(await readFile(this.blobPath(manifest.config.digest), 'utf8')) as unknown
    return decodeCacheContents(config, this.name)
  }

  private async hasBlob (digest: Digest): Promise<boolean> {
    return await stat(this.blobPath(digest)).then(() => true, () => false)
  }

  async putBlob (desc: Descriptor, content: () => Promise<ContentProvider>): Promise<boolean> {
    if (await this.hasBlob(desc.digest)) return false
    const from = (await content()).path(desc.digest)
    await this.ensureBlobsDir()
    const tmp = join(this.dir, 'blobs', `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`)
    await this.writing(async () => {
      await copyFile(from, tmp)
      await syncFile(tmp)
      await rename(tmp, this.blobPath(desc.digest))
    })
    return true
  }

  async fetchBlob (desc: Descriptor, store: ContentStore, signal?: AbortSignal): Promise<void> {
    if (await store.info(desc.digest) !== undefined) return
    const path = this.blobPath(desc.digest)
    if (!await this.hasBlob(desc.digest)) throw new TsbuildError('NOT_FOUND', `cache ${this.name}: blob ${desc.digest} is missing`)
    await store.write(createReadStream(path), { expected: { digest: desc.digest, size: desc.size }, ...(signal !== undefined ? { signal } : {}) })
  }

  /** Config and manifest blobs this target wrote for an earlier commit (not there before it). */
  private readonly superseded = new Set<Digest>()

  async commit (config: CacheConfig): Promise<void> {
    const { manifest, config: configBytes, configDescriptor } = cacheManifest(config)
    const manifestDigest = sha256(manifest)
    const wrote = [
      ...(await this.writeBlob(configDescriptor.digest, configBytes) ? [configDescriptor.digest] : []),
      ...(await this.writeBlob(manifestDigest, manifest) ? [manifestDigest] : []),
    ]
    const index: ImageIndex = {
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [{ mediaType: MediaType.ociManifest, digest: manifestDigest, size: manifest.length, annotations: { [REF_NAME]: this.tag } }],
    }
    await this.writing(async () => {
      await writeAtomic(join(this.dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}')
      await writeAtomic(join(this.dir, 'index.json'), JSON.stringify(index))
    })
    await this.removeSuperseded(new Set([configDescriptor.digest, manifestDigest]))
    for (const d of wrote) this.superseded.add(d)
  }

  /**
   * Each commit lists every record, so the metadata an earlier commit of this
   * build wrote is dead weight once replaced: removed, unless the dir's index
   * names it now (another build writing here may have committed the same bytes).
   * Layers and what was there before this build are never touched.
   */
  private async removeSuperseded (current: ReadonlySet<Digest>): Promise<void> {
    const stale = [...this.superseded].filter((d) => !current.has(d))
    if (stale.length === 0) return
    const named = await this.namedByIndex()
    for (const d of stale) {
      if (named.has(d)) continue
      this.superseded.delete(d)
      // A blob left behind is only wasted space; failing the build for it is worse.
      await unlink(this.blobPath(d)).catch(() => {})
    }
  }

  /** The manifests `index.json` lists and their configs. */
  private async namedByIndex (): Promise<Set<Digest>> {
    const named = new Set<Digest>()
    const index = await readFile(join(this.dir, 'index.json'), 'utf8').then((t) => JSON.parse(t) as ImageIndex, () => undefined)
    for (const m of index?.manifests ?? []) {
      named.add(m.digest)
      const manifest = await readFile(this.blobPath(m.digest), 'utf8').then((t) => JSON.parse(t) as ImageManifest, () => undefined)
      if (manifest?.config?.digest !== undefined) named.add(manifest.config.digest)
    }
    return named
  }

  /** Whether the bytes were written (false: the blob was there). */
  private async writeBlob (digest: Digest, bytes: Buffer): Promise<boolean> {
    if (await this.hasBlob(digest)) return false
    await this.ensureBlobsDir()
    await this.writing(async () => { await writeAtomic(this.blobPath(digest), bytes) })
    return true
  }
}

async function syncFile (path: string): Promise<void> {
  const fh = await open(path, 'r+')
  try { await fh.sync() } finally { await fh.close() }
}

async function writeAtomic (path: string, data: string | Buffer): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`
  const fh = await open(tmp, 'w', 0o644)
  try {
    await fh.writeFile(data)
    await fh.sync()
  } catch (err) {
    await fh.close()
    await unlink(tmp).catch(() => {})
    throw err
  }
  await fh.close()
  await rename(tmp, path)
}
