import { lstat, readFile, readdir, readlink, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { sha256, type Digest } from '../../common/digest.js'
import type { Descriptor, ImageIndex, ImageManifest } from '../../common/oci.js'
import { INDEX_MEDIA_TYPES, MANIFEST_MEDIA_TYPES } from '../../common/oci.js'
import { LocalContentStore } from '../content/index.js'
import { ImageStore } from '../imageStore/index.js'
import { LeaseManager, type LeaseFile } from '../leases/index.js'
import { FileRecordStore, type CacheKey } from '../records/index.js'
import { SizeCache } from './sizeCache.js'

export interface RecordEntry {
  key: CacheKey
  layers: string[]
  description?: string
  lastUsedMs: number
  fileSize: number
}

export interface SnapshotEntry {
  name: string
  id: string
  parents: string[]
  size: number
  createdMs: number
  /** The file under `snapshots/names/` that names it. */
  link: string
}

export interface BlobEntry { digest: Digest; size: number; mtimeMs: number }

/** A persistent cache-mount directory, as the mount manager reports it. */
export interface CacheMountEntry { id: string; lastUsedMs: number; size: number }

/** Cache mounts live in the solver; the collector sees them only through this. */
export interface CacheMountStore {
  list (): Promise<Array<{ id: string; lastUsed: string; sizeBytes: number }>>
  remove (id: string): Promise<void>
}

/** Everything the collector and `du` know about one state dir at one moment. */
export interface Inventory {
  root: string
  records: RecordEntry[]
  snapshots: Map<string, SnapshotEntry>
  blobs: Map<Digest, BlobEntry>
  /** Blobs reachable from the image store (manifests, configs, layers). */
  imageBlobs: Set<Digest>
  /** snapshot name → blobs the layer index made from it. */
  layerBlobs: Map<string, Digest[]>
  cacheMounts: CacheMountEntry[]
  leases: LeaseFile[]
}

/** Read the state dir without changing anything (the size cache aside). */
export async function takeInventory (root: string, opts: { cacheMounts?: CacheMountStore } = {}): Promise<Inventory> {
  const [records, snapshots, blobs, imageBlobs, cacheMounts, leases] = await Promise.all([
    listRecords(root), listSnapshots(root), listBlobs(root), listImageBlobs(root),
    listCacheMounts(opts.cacheMounts), new LeaseManager(root).active(),
  ])
  const layerBlobs = new Map<string, Digest[]>()
  await Promise.all([...snapshots.keys()].map(async (name) => {
    const info = await readLayerInfo(root, name)
    if (info !== undefined) layerBlobs.set(name, info)
  }))
  return { root, records, snapshots, blobs, imageBlobs, layerBlobs, cacheMounts, leases }
}

export function layerIndexFile (root: string, snapshot: string): string {
  return join(root, 'layers', `${sha256(snapshot).slice(7)}.json`)
}

async function readLayerInfo (root: string, snapshot: string): Promise<Digest[] | undefined> {
  try {
    const info = JSON.parse(await readFile(layerIndexFile(root, snapshot), 'utf8')) as { blobs?: Array<{ digest: Digest }> }
    return (info.blobs ?? []).map((b) => b.digest)
  } catch {
    return undefined
  }
}

async function listRecords (root: string): Promise<RecordEntry[]> {
  const out: RecordEntry[] = []
  for await (const r of new FileRecordStore(root).list()) {
    const fileSize = await stat(join(root, 'records', `${r.key.slice('sha256:'.length)}.json`)).then((s) => s.size, () => 0)
    out.push({
      key: r.key, layers: r.layers ?? [], lastUsedMs: r.lastUsed.getTime(), fileSize,
      ...(r.description !== undefined ? { description: r.description } : {}),
    })
  }
  return out
}

async function listSnapshots (root: string): Promise<Map<string, SnapshotEntry>> {
  const dir = join(root, 'snapshots')
  const out = new Map<string, SnapshotEntry>()
  let links: string[]
  try { links = await readdir(join(dir, 'names')) } catch { return out }
  const sizes = await SizeCache.open(root)
  await Promise.all(links.map(async (link) => {
    const id = await readlink(join(dir, 'names', link)).catch(() => undefined)
    if (id === undefined) return
    let meta: { name?: string; parents?: string[]; created?: string }
    try { meta = JSON.parse(await readFile(join(dir, id, 'meta.json'), 'utf8')) as typeof meta } catch { return }
    if (meta.name === undefined) return
    const size = await sizes.sizeOf(id, join(dir, id))
    const createdMs = meta.created !== undefined ? Date.parse(meta.created) : 0
    out.set(meta.name, { name: meta.name, id, parents: meta.parents ?? [], size, createdMs, link })
  }))
  sizes.retainOnly(new Set([...out.values()].map((s) => s.id)))
  await sizes.save()
  return out
}

async function listBlobs (root: string): Promise<Map<Digest, BlobEntry>> {
  const dir = join(root, 'blobs', 'sha256')
  const out = new Map<Digest, BlobEntry>()
  let names: string[]
  try { names = await readdir(dir) } catch { return out }
  await Promise.all(names.map(async (hex) => {
    if (!/^[a-f0-9]{64}$/.test(hex)) return
    const st = await lstat(join(dir, hex)).catch(() => undefined)
    if (st === undefined || !st.isFile()) return
    const digest = `sha256:${hex}` as Digest
    out.set(digest, { digest, size: st.size, mtimeMs: st.mtimeMs })
  }))
  return out
}

/** Blobs reachable from index.json; a missing blob ends its branch instead of failing. */
async function listImageBlobs (root: string): Promise<Set<Digest>> {
  const images = await ImageStore.open(root)
  const content = new LocalContentStore(root)
  const seen = new Set<Digest>()
  const visit = async (d: Descriptor): Promise<void> => {
    if (seen.has(d.digest)) return
    seen.add(d.digest)
    if (!INDEX_MEDIA_TYPES.includes(d.mediaType) && !MANIFEST_MEDIA_TYPES.includes(d.mediaType)) return
    let doc: ImageIndex & ImageManifest
    try { doc = JSON.parse((await content.readBytes(d.digest)).toString('utf8')) as ImageIndex & ImageManifest } catch { return }
    const children: Descriptor[] = [...(doc.manifests ?? []), ...(doc.config !== undefined ? [doc.config] : []), ...(doc.layers ?? [])]
    for (const c of children) await visit(c)
  }
  for (const image of await images.list()) await visit(image.descriptor)
  // Entries without a tsbuild name (written by other tools) are kept alive too.
  try {
    const index = JSON.parse(await readFile(join(root, 'index.json'), 'utf8')) as ImageIndex
    for (const d of index.manifests ?? []) await visit(d)
  } catch { /* no index.json: nothing is named */ }
  return seen
}

async function listCacheMounts (store: CacheMountStore | undefined): Promise<CacheMountEntry[]> {
  if (store === undefined) return []
  return (await store.list()).map((m) => ({ id: m.id, lastUsedMs: Date.parse(m.lastUsed) || 0, size: m.sizeBytes }))
}
