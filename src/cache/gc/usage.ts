import { planCollection, SnapshotGraph } from './plan.js'
import type { Inventory } from './inventory.js'

export interface CategoryUsage { count: number; size: number; reclaimable: number }

export interface RecordUsage {
  key: string
  description?: string
  lastUsedMs: number
  /** Snapshots in this record's chain that no other record uses. */
  exclusiveSize: number
  /** Snapshots in its chain that other records use too (counted once in totals). */
  sharedSize: number
  /** What this step added: the size of its own (top) layer, as `buildx du --verbose` shows a record. */
  size: number
  /** Another record has the same top layer (equal results under different keys). */
  isShared: boolean
}

export interface UsageSummary {
  records: CategoryUsage
  snapshots: CategoryUsage & { shared: number; sharedSize: number }
  blobs: CategoryUsage & { inUseByImages: number }
  cacheMounts: CategoryUsage
  total: number
  /** What the GC cap applies to: the total less stored images' blobs. */
  cacheTotal: number
  reclaimable: number
  perRecord: RecordUsage[]
}

/**
 * What `du` shows: every item counted once, however many records or images
 * share it. Reclaimable is what a full prune would free now (everything not
 * held by an image or a running build's lease).
 */
export function summarizeUsage (inv: Inventory, now: number = Date.now()): UsageSummary {
  const plan = planCollection(inv, { now, mode: 'all', includeCacheMounts: true, orphanGraceMs: 0 })
  const removedRecords = new Set([...plan.records, ...plan.broken].map((r) => r.key))
  // Every name a record's layers reach, present or not: a missing one counts nowhere (size 0).
  const graph = new SnapshotGraph(inv)
  const chains = new Map<string, string[]>()
  const users = new Map<string, number>()
  for (const r of inv.records) {
    const chain = graph.union(r.layers).nodes.map((i) => graph.nameOf(i))
    chains.set(r.key, chain)
    for (const n of chain) users.set(n, (users.get(n) ?? 0) + 1)
  }
  const sizeOf = (n: string): number => inv.snapshots.get(n)?.size ?? 0
  const sharedNames = [...users].filter(([n, c]) => c > 1 && inv.snapshots.has(n)).map(([n]) => n)
  const sum = (xs: Iterable<number>): number => { let t = 0; for (const x of xs) t += x; return t }
  const records: CategoryUsage = {
    count: inv.records.length, size: sum(inv.records.map((r) => r.fileSize)),
    reclaimable: sum(inv.records.filter((r) => removedRecords.has(r.key)).map((r) => r.fileSize)),
  }
  const snapshots = {
    count: inv.snapshots.size, size: sum([...inv.snapshots.values()].map((s) => s.size)),
    reclaimable: sum([...plan.snapshots].map(sizeOf)), shared: sharedNames.length, sharedSize: sum(sharedNames.map(sizeOf)),
  }
  const blobs = {
    count: inv.blobs.size, size: sum([...inv.blobs.values()].map((b) => b.size)),
    reclaimable: sum([...plan.blobs].map((d) => inv.blobs.get(d)?.size ?? 0)),
    inUseByImages: sum([...inv.blobs.values()].filter((b) => inv.imageBlobs.has(b.digest)).map((b) => b.size)),
  }
  const mountIds = new Set(plan.cacheMounts)
  const cacheMounts = {
    count: inv.cacheMounts.length, size: sum(inv.cacheMounts.map((m) => m.size)),
    reclaimable: sum(inv.cacheMounts.filter((m) => mountIds.has(m.id)).map((m) => m.size)),
  }
  const tops = new Map<string, number>()
  for (const r of inv.records) { const top = r.layers.at(-1); if (top !== undefined) tops.set(top, (tops.get(top) ?? 0) + 1) }
  const perRecord = inv.records.map((r) => {
    const chain = chains.get(r.key)!
    const top = r.layers.at(-1)
    return {
      size: top === undefined ? 0 : sizeOf(top),
      isShared: top !== undefined && (tops.get(top) ?? 0) > 1,
      key: r.key, lastUsedMs: r.lastUsedMs, ...(r.description !== undefined ? { description: r.description } : {}),
      exclusiveSize: sum(chain.filter((n) => users.get(n) === 1).map(sizeOf)),
      sharedSize: sum(chain.filter((n) => (users.get(n) ?? 0) > 1).map(sizeOf)),
    }
  }).sort((a, b) => b.lastUsedMs - a.lastUsedMs)
  return {
    records, snapshots, blobs, cacheMounts, perRecord,
    total: records.size + snapshots.size + blobs.size + cacheMounts.size,
    cacheTotal: records.size + snapshots.size + blobs.size - blobs.inUseByImages + cacheMounts.size,
    reclaimable: records.reclaimable + snapshots.reclaimable + blobs.reclaimable + cacheMounts.reclaimable,
  }
}
