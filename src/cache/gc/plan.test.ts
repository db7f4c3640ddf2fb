import { describe, expect, test } from 'vitest'
import type { Digest } from '../../common/digest.js'
import type { LeaseFile } from '../leases/index.js'
import type { CacheKey } from '../records/index.js'
import type { Inventory, RecordEntry, SnapshotEntry } from './inventory.js'
import { cacheSize, planCollection, totalSize, type Plan, type PlanOptions } from './plan.js'
import { summarizeUsage, type CategoryUsage, type UsageSummary } from './usage.js'

const DAY = 86_400_000
const NOW = 100 * DAY
const digest = (s: string): Digest => `sha256:${s.padStart(64, '0')}` as Digest

function emptyInventory (): Inventory {
  return { root: '/nowhere', records: [], snapshots: new Map(), blobs: new Map(), imageBlobs: new Set(), layerBlobs: new Map(), cacheMounts: [], leases: [] }
}

function addSnapshot (inv: Inventory, name: string, parents: string[], size: number, createdMs = 0): void {
  const s: SnapshotEntry = { name, id: `id-${name}`, parents, size, createdMs, link: `link-${name}` }
  inv.snapshots.set(name, s)
}

/**
 * One RUN chain as the solver writes it: step i's snapshot lists the whole
 * stack below it as parents, its record names the stack up to it, and each
 * snapshot has one layer blob. Deeper steps were used longer ago.
 */
function flattenedChain (depth: number): Inventory {
  const inv = emptyInventory()
  const stack: string[] = []
  for (let i = 0; i < depth; i++) {
    const name = `step-${i}`
    addSnapshot(inv, name, [...stack], 1000 + i)
    stack.push(name)
    inv.records.push({ key: `sha256:r${i}` as CacheKey, layers: [...stack], lastUsedMs: NOW - (i + 1) * 60_000, fileSize: 10 })
    const d = digest(String(i))
    inv.blobs.set(d, { digest: d, size: 7, mtimeMs: 0 })
    inv.layerBlobs.set(name, [d])
  }
  return inv
}

const settled = (p: Plan) => ({
  records: p.records.map((r) => r.key),
  broken: p.broken.map((r) => r.key),
  snapshots: [...p.snapshots].sort(),
  blobs: [...p.blobs].sort(),
  cacheMounts: p.cacheMounts,
  cacheBefore: p.cacheBefore,
  reclaimBytes: p.reclaimBytes,
})

describe('planCollection on deep flattened stacks', () => {
  // The per-record closure walk this replaced took about 5 s at depth 400 and grew with the cube of the depth.
  test('1000 steps: removing the oldest half frees the top half of the stack, well within the time limit', () => {
    const depth = 1000
    const inv = flattenedChain(depth)
    const started = performance.now()
    const plan = planCollection(inv, { now: NOW, mode: 'all', olderThanMs: (depth / 2) * 60_000 + 1, includeCacheMounts: false, orphanGraceMs: 0 })
    const usage = summarizeUsage(inv, NOW)
    const elapsed = performance.now() - started
    const top = Array.from({ length: depth / 2 }, (_, j) => depth / 2 + j)
    expect(plan.broken).toEqual([])
    expect(plan.records.map((r) => r.key)).toEqual(top.reverse().map((i) => `sha256:r${i}`))
    expect([...plan.snapshots].sort()).toEqual(top.map((i) => `step-${i}`).sort())
    expect([...plan.blobs].sort()).toEqual(top.map((i) => digest(String(i))).sort())
    const snapshotBytes = top.reduce((t, i) => t + 1000 + i, 0)
    expect(plan.reclaimBytes).toBe(snapshotBytes + (depth / 2) * (10 + 7))
    // Step i's snapshot is in the chains of records i and up: only the top one is in a single chain.
    expect(usage.snapshots.shared).toBe(depth - 1)
    expect(usage.perRecord.find((r) => r.key === `sha256:r${depth - 1}`)?.exclusiveSize).toBe(1000 + depth - 1)
    expect(usage.reclaimable).toBe(totalSize(inv))
    expect(elapsed).toBeLessThan(15_000)
  }, 15_000)
})

/** Small deterministic random numbers, so a failing case can be replayed by its seed. */
function prng (seed: number): (n: number) => number {
  let a = seed >>> 0
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n)
  }
}

/**
 * A hand-made inventory: parents picked freely (not flattened, shared, some
 * missing, now and then a cycle), records over random layers, blobs, leases
 * and mounts with random ages.
 */
function randomInventory (seed: number): { inv: Inventory; opts: PlanOptions } {
  const rand = prng(seed)
  const inv = emptyInventory()
  const count = 1 + rand(12)
  const name = (i: number): string => (i < count ? `s${i}` : `missing${i}`)
  for (let i = 0; i < count; i++) {
    const parents: string[] = []
    for (let k = rand(4); k > 0; k--) {
      const roll = rand(20)
      if (roll === 0) parents.push(name(count + rand(3)))
      else if (roll === 1) parents.push(name(rand(count)))
      else if (i > 0) parents.push(name(rand(i)))
    }
    addSnapshot(inv, name(i), parents, 1 + rand(1000), rand(4) * DAY + (rand(2) === 0 ? NOW - 60_000 : 0))
  }
  for (let d = rand(8); d > 0; d--) {
    const dg = digest(`b${d}`)
    inv.blobs.set(dg, { digest: dg, size: 1 + rand(500), mtimeMs: rand(3) === 0 ? NOW - 1000 : rand(50) * DAY })
    if (rand(4) === 0) inv.imageBlobs.add(dg)
    const owner = name(rand(count + 1))
    inv.layerBlobs.set(owner, [...(inv.layerBlobs.get(owner) ?? []), dg])
  }
  for (let r = rand(10); r > 0; r--) {
    const layers = Array.from({ length: rand(4) }, () => name(rand(count + (rand(10) === 0 ? 2 : 0))))
    inv.records.push({ key: `sha256:rec${r}` as CacheKey, layers, lastUsedMs: rand(90) * DAY + rand(1000), fileSize: 1 + rand(50) })
  }
  for (let m = rand(3); m > 0; m--) inv.cacheMounts.push({ id: `m${m}`, lastUsedMs: rand(90) * DAY, size: 1 + rand(300) })
  for (let l = rand(4) === 0 ? 1 + rand(2) : 0; l > 0; l--) {
    const lease: LeaseFile = {
      id: `l${l}`, pid: 1, startedMs: rand(100) * DAY,
      records: inv.records.filter(() => rand(3) === 0).map((r) => r.key),
      snapshots: [...inv.snapshots.keys()].filter(() => rand(4) === 0),
      blobs: [...inv.blobs.keys()].filter(() => rand(4) === 0),
    }
    inv.leases.push(lease)
  }
  const opts: PlanOptions = {
    now: NOW,
    mode: rand(2) === 0 ? 'lru' : 'all',
    includeCacheMounts: rand(2) === 0,
    orphanGraceMs: rand(2) === 0 ? 0 : 15 * 60_000,
    ...(rand(3) !== 0 ? { targetBytes: rand(cacheSize(inv) + 1) } : {}),
    ...(rand(3) === 0 ? { olderThanMs: rand(60) * DAY } : {}),
  }
  return { inv, opts }
}

describe('planCollection and summarizeUsage agree with the per-record closure walk', () => {
  test.each(Array.from({ length: 400 }, (_, i) => i + 1))('random inventory, seed %i', (seed) => {
    const { inv, opts } = randomInventory(seed)
    expect(settled(planCollection(inv, opts))).toEqual(settled(referencePlan(inv, opts)))
    const sorted = (u: UsageSummary) => ({ ...u, perRecord: [...u.perRecord].sort((a, b) => a.key.localeCompare(b.key)) })
    expect(sorted(summarizeUsage(inv, NOW))).toEqual(sorted(referenceUsage(inv, NOW)))
  })

  test('a stack listing only its direct parent, deeper than the old walk went, is whole', () => {
    const inv = emptyInventory()
    for (let i = 0; i < 1500; i++) addSnapshot(inv, `s${i}`, i === 0 ? [] : [`s${i - 1}`], 1)
    inv.records.push({ key: 'sha256:top' as CacheKey, layers: ['s1499'], lastUsedMs: 0, fileSize: 1 })
    const plan = planCollection(inv, { now: NOW, mode: 'all', includeCacheMounts: false, orphanGraceMs: 0 })
    expect(plan.broken).toEqual([])
    expect(plan.snapshots.size).toBe(1500)
    expect(summarizeUsage(inv, NOW).perRecord[0]?.exclusiveSize).toBe(1500)
  })
})

// The reference: the plan and usage as they were before closures were shared, walking each record's chain on its own.

function referencePlan (inv: Inventory, opts: PlanOptions): Plan {
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

function referenceUsage (inv: Inventory, now: number = Date.now()): UsageSummary {
  const plan = referencePlan(inv, { now, mode: 'all', includeCacheMounts: true, orphanGraceMs: 0 })
  const removedRecords = new Set([...plan.records, ...plan.broken].map((r) => r.key))
  const chains = new Map<string, Set<string>>()
  const users = new Map<string, number>()
  for (const r of inv.records) {
    const chain = new Set<string>()
    const add = (n: string): void => {
      if (chain.has(n)) return
      chain.add(n)
      for (const p of inv.snapshots.get(n)?.parents ?? []) add(p)
    }
    for (const l of r.layers) add(l)
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
    const chain = [...chains.get(r.key)!]
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
