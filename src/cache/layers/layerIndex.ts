import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { sha256, type Digest } from '../../common/digest.js'
import type { Descriptor } from '../../common/oci.js'

/**
 * What is known about one committed snapshot as a layer: its diffID and the
 * blobs already made from it (one per compression). Pulled layers start with
 * their original blob, so exports reuse it instead of recompressing; a new
 * layer is archived and compressed once, then found here on every later
 * export. Files are replaced atomically; a lost update only costs a
 * recompression.
 */
export interface LayerInfo {
  diffID?: Digest
  blobs: Descriptor[]
  /** When the layer was first made (ISO 8601), as an imported cache records it; see withLayerTimes. */
  created?: string
}

export class LayerIndex {
  private readonly dir: string
  private readonly memo = new Map<string, LayerInfo>()
  private readonly updating = new Map<string, Promise<void>>()

  constructor (stateDir: string) {
    this.dir = join(stateDir, 'layers')
  }

  private file (snapshot: string): string {
    return join(this.dir, `${sha256(snapshot).slice(7)}.json`)
  }

  async get (snapshot: string): Promise<LayerInfo | undefined> {
    const hit = this.memo.get(snapshot)
    if (hit !== undefined) return hit
    try {
      const info = JSON.parse(await readFile(this.file(snapshot), 'utf8')) as LayerInfo
      this.memo.set(snapshot, info)
      return info
    } catch {
      return undefined
    }
  }

  /**
   * Add a blob (and the diffID, and the time the layer was made when known)
   * to what is known about a snapshot. The first time recorded stays. Updates
   * of one snapshot are applied one after another, so concurrent ones all land.
   */
  async addBlob (snapshot: string, diffID: Digest, blob: Descriptor, created?: string): Promise<void> {
    const prior = this.updating.get(snapshot) ?? Promise.resolve()
    const next = prior.then(async () => await this.applyBlob(snapshot, diffID, blob, created))
    const settled = next.catch(() => {})
    this.updating.set(snapshot, settled)
    void settled.then(() => { if (this.updating.get(snapshot) === settled) this.updating.delete(snapshot) })
    await next
  }

  private async applyBlob (snapshot: string, diffID: Digest, blob: Descriptor, created: string | undefined): Promise<void> {
    const prev = await this.get(snapshot)
    const blobs = (prev?.blobs ?? []).filter((b) => b.mediaType !== blob.mediaType)
    const info: LayerInfo = { diffID, blobs: [...blobs, { mediaType: blob.mediaType, digest: blob.digest, size: blob.size }] }
    const time = prev?.created ?? created
    if (time !== undefined) info.created = time
    this.memo.set(snapshot, info)
    await mkdir(this.dir, { recursive: true })
    const tmp = join(this.dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`)
    const fh = await open(tmp, 'w')
    try {
      try { await fh.writeFile(JSON.stringify(info)); await fh.sync() } finally { await fh.close() }
      await rename(tmp, this.file(snapshot))
    } catch (err) {
      // A full disk must not leave partial temp files behind to fill it further.
      await unlink(tmp).catch(() => {})
      throw err
    }
  }
}
