import type { Digest } from '../../common/digest.js'
import type { Inventory, RecordEntry } from './inventory.js'

/** What decides a collection. Times are ms since epoch. */
export interface PlanOptions {
  now: number
  /**
   * Which records are wanted gone: 'lru' removes least recently used records
   * only while the total is over `targetBytes`; 'all' removes every eligible
   * record (then `targetBytes`, when set, stops early as --keep-storage does).
   */
  mode: 'lru' | 'all'
  targetBytes?: number
  /** Only records unused for at least this long are eligible (prune --filter until=). */
  olderThanMs?: number
  /** Cache mounts are eligible (prune --all; a capped collection still over the cap). */
  includeCacheMounts: boolean
  /** Unreferenced snapshots and blobs younger than this are left alone: a writer without a lease may be about to name them. */
  orphanGraceMs: number
}

export interface Plan {
  records: RecordEntry[]
  /** Records whose snapshots are gone: removed always, a record must build. */
  broken: RecordEntry[]
  snapshots: Set<string>
  blobs: Set<Digest>
  cacheMounts: string[]
  /** Build cache bytes (cacheSize) before the collection. */
  cacheBefore: number
  reclaimBytes: number
}

/** Bytes the state dir's build cache and images hold. */
export function totalSize (inv: Inventory): number {
  let total = 0
  for (const r of inv.records) total += r.fileSize
  for (const s of inv.snapshots.values()) total += s.size
  for (const b of inv.blobs.values()) total += b.size
  for (const m of inv.cacheMounts) total += m.size
  return total
}

/**
 * What the cap applies to: everything but the blobs of stored images, which
 * are the user's to remove (`tsbuild rmi`), never the collector's.
 */
export function cacheSize (inv: Inventory): number {
  let images = 0
  for (const b of inv.blobs.values()) if (inv.imageBlobs.has(b.digest)) images += b.size
  return totalSize(inv) - images
}

/**
 * Decide what to remove, by reference counting: a snapshot lives while a
 * kept record (through its layers and their parent chains), a lease, or a
 * use newer than the oldest live lease holds it; a blob lives while an image,
 * a lease, a recent use or the layer index of a living snapshot holds it.
 */
export function planCollection (inv: Inventory, opts: PlanOptions): Plan {
  const protectSince = Math.min(...inv.leases.map((l) => l.startedMs), Infinity)
  const leasedRecords = new Set(inv.leases.flatMap((l) => l.records))
  const leasedSnapshots = new Set(inv.leases.flatMap((l) => l.snapshots))
  const leasedBlobs = new Set(inv.leases.flatMap((l) => l.blobs))

  const closure = memoClosure(inv)
  const broken = inv.records.filter((r) => r.layers.some((l) => closure(l) === undefined))
  const brokenKeys = new Set(broken.map((r) => r.key))
  const healthy = inv.records.filter((r) => !brokenKeys.has(r.key))

  const snapRefs = new Map<string, number>()
  const blobRefs = new Map<Digest, number>()
  const refSnap = (name: string, d: number): void => { snapRefs.set(name, (snapRefs.get(name) ?? 0) + d) }
  const refBlob = (digest: Digest, d: number): void => { blobRefs.set(digest, (blobRefs.get(digest) ?? 0) + d) }
  const recordSnaps = (r: RecordEntry): Set<string> => new Set(r.layers.flatMap((l) => [...(closure(l) ?? [])]))

  for (const r of healthy) for (const s of recordSnaps(r)) refSnap(s, 1)
  // The grace period shields only what nothing referenced when the collection began (a
  // writer may be about to name it); what a removed record frees goes at once.
  const heldByRecords = new Set(snapRefs.keys())
  for (const s of inv.snapshots.values()) {
    const young = !heldByRecords.has(s.name) && s.createdMs > opts.now - opts.orphanGraceMs
    const pinned = leasedSnapshots.has(s.name) || s.createdMs >= protectSince || young
    if (pinned) for (const c of closure(s.name) ?? []) refSnap(c, 1)
  }
  const heldBlobs = new Set([...heldByRecords].flatMap((n) => inv.layerBlobs.get(n) ?? []))
  for (const b of inv.blobs.values()) {
    const young = !heldBlobs.has(b.digest) && b.mtimeMs > opts.now - opts.orphanGraceMs
    if (inv.imageBlobs.has(b.digest) || leasedBlobs.has(b.digest) || b.mtimeMs >= protectSince || young) refBlob(b.digest, 1)
  }
  for (const [name, blobs] of inv.layerBlobs) if ((snapRefs.get(name) ?? 0) > 0) for (const b of blobs) refBlob(b, 1)

  const snapshots = new Set<string>()
  const blobs = new Set<Digest>()
  let reclaim = 0
  const freeBlob = (d: Digest): void => {
    if ((blobRefs.get(d) ?? 0) > 0 || blobs.has(d)) return
    const b = inv.blobs.get(d)
    if (b === undefined) return
    blobs.add(d)
    reclaim += b.size
  }
  const freeSnapshot = (name: string): void => {
    if ((snapRefs.get(name) ?? 0) > 0 || snapshots.has(name)) return
    const s = inv.snapshots.get(name)
    if (s === undefined) return
    snapshots.add(name)
    reclaim += s.size
    for (const b of inv.layerBlobs.get(name) ?? []) { refBlob(b, -1); freeBlob(b) }
  }
  // Whatever nothing holds at all goes first: orphans and the remains of broken records.
  for (const r of broken) reclaim += r.fileSize
  for (const name of inv.snapshots.keys()) freeSnapshot(name)
  for (const d of inv.blobs.keys()) freeBlob(d)

  const cacheBefore = cacheSize(inv)
  const overTarget = (): boolean => opts.targetBytes === undefined || cacheBefore - reclaim > opts.targetBytes
  const eligible = healthy
    .filter((r) => r.lastUsedMs < protectSince && !leasedRecords.has(r.key))
    .filter((r) => opts.olderThanMs === undefined || r.lastUsedMs <= opts.now - opts.olderThanMs)
    .sort((a, b) => a.lastUsedMs - b.lastUsedMs)
  const records: RecordEntry[] = []
  for (const r of eligible) {
    if (opts.mode === 'lru' && !overTarget()) break
    if (opts.mode === 'all' && opts.targetBytes !== undefined && !overTarget()) break
    records.push(r)
    reclaim += r.fileSize
    const snaps = recordSnaps(r)
    for (const s of snaps) refSnap(s, -1)
    for (const s of snaps) freeSnapshot(s)
  }
  const cacheMounts: string[] = []
  // A mount's last use is recorded when a build releases it, and `shared` users hold no lock, so
  // while any build runs no mount can be shown to be idle: they are only removed when none does.
  if (opts.includeCacheMounts && inv.leases.length === 0) {
    for (const m of [...inv.cacheMounts].sort((a, b) => a.lastUsedMs - b.lastUsedMs)) {
      if (m.lastUsedMs >= protectSince) continue
      if (opts.targetBytes !== undefined && !overTarget()) break
      cacheMounts.push(m.id)
      reclaim += m.size
    }
  }
  return { records, broken, snapshots, blobs, cacheMounts, cacheBefore, reclaimBytes: reclaim }
}

/** The snapshot and its whole parent chain; undefined when any link is missing. */
function memoClosure (inv: Inventory): (name: string) => ReadonlySet<string> | undefined {
  const memo = new Map<string, Set<string> | undefined>()
  const visit = (name: string, depth: number): Set<string> | undefined => {
    if (memo.has(name)) return memo.get(name)
    const s = inv.snapshots.get(name)
    let out: Set<string> | undefined
    if (s !== undefined && depth < 1000) {
      out = new Set([name])
      for (const p of s.parents) {
        const sub = visit(p, depth + 1)
        if (sub === undefined) { out = undefined; break }
        for (const x of sub) out.add(x)
      }
    }
    memo.set(name, out)
    return out
  }
  return (name) => visit(name, 0)
}
