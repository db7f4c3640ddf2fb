import { readFile, readdir, readlink, rm, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { Digest } from '../../common/digest.js'
import { isAbandonedLock, withFileLock } from '../imageStore/index.js'
import { isProcessAlive } from '../../common/process.js'
import { LeaseManager } from '../leases/index.js'
import { openStateDir } from '../stateDir.js'
import { FileRecordStore } from '../records/index.js'
import { layerIndexFile, takeInventory, type CacheMountStore, type Inventory, type RecordEntry } from './inventory.js'
import { cacheSize, planCollection, type Plan, type PlanOptions } from './plan.js'
import { SizeCache } from './sizeCache.js'

export interface CollectOptions extends Partial<PlanOptions> {
  cacheMounts?: CacheMountStore
  /** Plan only: report what would go, delete nothing. */
  dryRun?: boolean
}

export interface RemovedRecord { key: string; description?: string; lastUsedMs: number }

export interface CollectReport {
  records: RemovedRecord[]
  snapshots: string[]
  blobs: Digest[]
  cacheMounts: string[]
  /** Temp files and crashed writers' leftovers swept. */
  tmp: number
  reclaimedBytes: number
  /** Build cache bytes (all but stored images' blobs) before and after. */
  cacheBefore: number
  cacheAfter: number
}

const DEFAULT_GRACE_MS = 15 * 60_000

/**
 * One garbage collection over a state dir, serialised with other
 * collections by `locks/gc.lock`. Builds are not blocked: they hold leases
 * (see LeaseManager) and the collector keeps what they use. Order matters
 * for crash safety: records go first (a record never points at a deleted
 * snapshot), then snapshots (names first, so no one finds a half-removed
 * dir), then layer-index entries and blobs. A crash midway leaves only
 * orphans, which the next collection sweeps.
 */
export async function collectGarbage (root: string, opts: CollectOptions = {}): Promise<CollectReport> {
  await openStateDir(root)
  return await withFileLock(join(root, 'locks', 'gc.lock'), async () => {
    await new LeaseManager(root).active({ removeDead: true })
    const tmp = opts.dryRun === true ? 0 : await sweepTemp(root, opts.now ?? Date.now())
    const inv = await takeInventory(root, opts.cacheMounts !== undefined ? { cacheMounts: opts.cacheMounts } : {})
    const plan = planCollection(inv, {
      now: opts.now ?? Date.now(),
      mode: opts.mode ?? 'lru',
      includeCacheMounts: opts.includeCacheMounts ?? false,
      orphanGraceMs: opts.orphanGraceMs ?? DEFAULT_GRACE_MS,
      ...(opts.targetBytes !== undefined ? { targetBytes: opts.targetBytes } : {}),
      ...(opts.olderThanMs !== undefined ? { olderThanMs: opts.olderThanMs } : {}),
    })
    const nothingToDo = plan.records.length + plan.broken.length + plan.snapshots.size + plan.blobs.size + plan.cacheMounts.length === 0
    if (opts.dryRun === true || nothingToDo) return reportOf(plan, inv, plan.records, tmp)
    const removed = await applyPlan(root, inv, plan, opts.cacheMounts)
    const after = await takeInventory(root, opts.cacheMounts !== undefined ? { cacheMounts: opts.cacheMounts } : {})
    return { ...reportOf(plan, inv, removed.records, tmp), snapshots: removed.snapshots, blobs: removed.blobs, cacheMounts: removed.cacheMounts,
      reclaimedBytes: Math.max(0, plan.cacheBefore - cacheSize(after)), cacheAfter: cacheSize(after) }
  }, { timeoutMs: 10 * 60_000 })
}

function reportOf (plan: Plan, inv: Inventory, records: RecordEntry[], tmp: number): CollectReport {
  return {
    records: records.map((r) => ({ key: r.key, lastUsedMs: r.lastUsedMs, ...(r.description !== undefined ? { description: r.description } : {}) })),
    snapshots: [...plan.snapshots], blobs: [...plan.blobs], cacheMounts: plan.cacheMounts, tmp,
    reclaimedBytes: plan.reclaimBytes, cacheBefore: plan.cacheBefore, cacheAfter: cacheSize(inv) - plan.reclaimBytes,
  }
}

async function applyPlan (root: string, inv: Inventory, plan: Plan, mounts: CacheMountStore | undefined) {
  const records = new FileRecordStore(root)
  const deleted: RecordEntry[] = []
  for (const r of [...plan.broken, ...plan.records]) {
    // A build may have hit the record since the inventory: then it stays.
    const path = join(root, 'records', `${r.key.slice('sha256:'.length)}.json`)
    const st = await stat(path).catch(() => undefined)
    if (st !== undefined && st.mtimeMs > r.lastUsedMs + 1) continue
    await records.delete(r.key)
    deleted.push(r)
  }
  // Records written or touched meanwhile (a concurrent build) may point at planned snapshots: spare those.
  const still = new Set<string>()
  const spare = (name: string): void => {
    if (still.has(name)) return
    still.add(name)
    for (const p of inv.snapshots.get(name)?.parents ?? []) spare(p)
  }
  for await (const r of records.list()) for (const l of r.layers ?? []) spare(l)
  for (const l of await new LeaseManager(root).active()) for (const s of l.snapshots) spare(s)

  const sizes = await SizeCache.open(root)
  const snapshots: string[] = []
  const keptBlobs = new Set<Digest>()
  for (const name of plan.snapshots) {
    const s = inv.snapshots.get(name)
    if (s === undefined) continue
    if (still.has(name)) { for (const b of inv.layerBlobs.get(name) ?? []) keptBlobs.add(b); continue }
    await unlink(join(root, 'snapshots', 'names', s.link)).catch(() => undefined)
    await rm(join(root, 'snapshots', s.id), { recursive: true, force: true })
    await unlink(layerIndexFile(root, name)).catch(() => undefined)
    sizes.forget(s.id)
    snapshots.push(name)
  }
  await sizes.save()
  const blobs: Digest[] = []
  for (const d of plan.blobs) {
    if (keptBlobs.has(d)) continue
    await unlink(join(root, 'blobs', 'sha256', d.slice('sha256:'.length))).catch(() => undefined)
    blobs.push(d)
  }
  const gone = new Set(snapshots)
  await sweepLayerIndex(root, new Set([...inv.snapshots.keys()].filter((n) => !gone.has(n))))
  const cacheMounts: string[] = []
  for (const id of plan.cacheMounts) {
    // A mount in use refuses removal; it is simply kept.
    try { await mounts?.remove(id); cacheMounts.push(id) } catch { /* in use */ }
  }
  return { records: deleted, snapshots, blobs, cacheMounts }
}

/** Layer-index entries of snapshots that no longer exist. */
async function sweepLayerIndex (root: string, live: Set<string>): Promise<void> {
  const dir = join(root, 'layers')
  const liveFiles = new Set([...live].map((n) => layerIndexFile(root, n)))
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.endsWith('.json')) continue
    const path = join(dir, name)
    if (!liveFiles.has(path)) await unlink(path).catch(() => undefined)
  }
}

const TEMP_AGE_MS = 60 * 60_000

/**
 * Leftovers of crashed writers: temp files in the store's `tmp/` and beside
 * records, layer-index entries and leases (an hour old: no live write takes
 * that long between create and rename), and snapshot dirs that never got a
 * name whose owner process is gone.
 */
async function sweepTemp (root: string, now: number): Promise<number> {
  let removed = 0
  const old = async (path: string): Promise<boolean> => {
    const st = await stat(path).catch(() => undefined)
    return st !== undefined && st.mtimeMs < now - TEMP_AGE_MS
  }
  for (const name of await readdir(join(root, 'tmp')).catch(() => [] as string[])) {
    const p = join(root, 'tmp', name)
    // A build context unpacked from stdin, git or a URL stays while its build runs, however long.
    const owner = /^[a-z]+-context-(\d+)-/.exec(name)
    if (owner !== null && isProcessAlive(Number(owner[1]))) continue
    if (await old(p)) { await rm(p, { recursive: true, force: true }); removed++ }
  }
  for (const sub of ['records', 'layers', 'leases']) {
    for (const name of await readdir(join(root, sub)).catch(() => [] as string[])) {
      const p = join(root, sub, name)
      if (name.startsWith('.tmp-') && await old(p)) { await rm(p, { force: true }); removed++ }
    }
  }
  // Cache-key locks of killed builds (the next build wanting the key would break them anyway).
  for (const name of await readdir(join(root, 'locks')).catch(() => [] as string[])) {
    const p = join(root, 'locks', name)
    if (!name.startsWith('key-') || !await old(p)) continue
    if (await isAbandonedLock(p)) {
      await unlink(p).catch(() => undefined)
      removed++
    }
  }
  removed += await sweepUnnamedSnapshots(root)
  return removed
}

async function sweepUnnamedSnapshots (root: string): Promise<number> {
  const dir = join(root, 'snapshots')
  const named = new Set<string>()
  for (const n of await readdir(join(dir, 'names')).catch(() => [] as string[])) {
    const id = await readlink(join(dir, 'names', n)).catch(() => undefined)
    if (id !== undefined) named.add(id)
  }
  let removed = 0
  for (const entry of await readdir(dir).catch(() => [] as string[])) {
    if (entry === 'names' || named.has(entry)) continue
    const meta = await readFile(join(dir, entry, 'meta.json'), 'utf8').then((t) => JSON.parse(t) as { pid?: number }, () => undefined)
    // Without meta the dir is being created right now, or was torn long ago: age decides.
    const abandoned = meta?.pid !== undefined ? !isProcessAlive(meta.pid) : await stat(join(dir, entry)).then((s) => s.mtimeMs < Date.now() - TEMP_AGE_MS, () => false)
    if (!abandoned) continue
    await rm(join(dir, entry), { recursive: true, force: true })
    removed++
  }
  return removed
}
