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

  const graph = new SnapshotGraph(inv)
  const chains = new Map<RecordEntry, readonly number[]>()
  const broken: RecordEntry[] = []
  const healthy: RecordEntry[] = []
  for (const r of inv.records) {
    const chain = graph.union(r.layers)
    if (chain.complete) { healthy.push(r); chains.set(r, chain.nodes) } else broken.push(r)
  }

  // Reference counts by graph index: kept records, pinned snapshots.
  const snapRefs = new Int32Array(graph.size)
  const blobRefs = new Map<Digest, number>()
  const refBlob = (digest: Digest, d: number): void => { blobRefs.set(digest, (blobRefs.get(digest) ?? 0) + d) }
  for (const r of healthy) for (const i of chains.get(r)!) snapRefs[i]++
  // The grace period shields only what nothing referenced when the collection began (a
  // writer may be about to name it); what a removed record frees goes at once.
  const heldByRecords = snapRefs.map((n) => (n > 0 ? 1 : 0))
  const held = (name: string): boolean => { const i = graph.indexOf(name); return i !== undefined && heldByRecords[i] === 1 }
  for (const s of inv.snapshots.values()) {
    const i = graph.indexOf(s.name)!
    const young = heldByRecords[i] === 0 && s.createdMs > opts.now - opts.orphanGraceMs
    const pinned = leasedSnapshots.has(s.name) || s.createdMs >= protectSince || young
    // A pinned snapshot whose chain is not whole holds nothing, not even itself.
    if (pinned && graph.isComplete(i)) for (const c of graph.closureOf(i)) snapRefs[c]++
  }
  const heldBlobs = new Set<Digest>()
  for (const [name, blobs] of inv.layerBlobs) if (held(name)) for (const b of blobs) heldBlobs.add(b)
  for (const b of inv.blobs.values()) {
    const young = !heldBlobs.has(b.digest) && b.mtimeMs > opts.now - opts.orphanGraceMs
    if (inv.imageBlobs.has(b.digest) || leasedBlobs.has(b.digest) || b.mtimeMs >= protectSince || young) refBlob(b.digest, 1)
  }
  for (const [name, blobs] of inv.layerBlobs) {
    const i = graph.indexOf(name)
    if (i !== undefined && snapRefs[i] > 0) for (const b of blobs) refBlob(b, 1)
  }

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
  const freeSnapshot = (i: number): void => {
    const name = graph.nameOf(i)
    if (snapRefs[i] > 0 || snapshots.has(name)) return
    const s = inv.snapshots.get(name)
    if (s === undefined) return
    snapshots.add(name)
    reclaim += s.size
    for (const b of inv.layerBlobs.get(name) ?? []) { refBlob(b, -1); freeBlob(b) }
  }
  // Whatever nothing holds at all goes first: orphans and the remains of broken records.
  for (const r of broken) reclaim += r.fileSize
  for (const name of inv.snapshots.keys()) freeSnapshot(graph.indexOf(name)!)
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
    const chain = chains.get(r)!
    for (const i of chain) snapRefs[i]--
    for (const i of chain) freeSnapshot(i)
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

/**
 * The snapshots' parent links with each name as a dense index, and every
 * snapshot's closure (itself and all it stands on) worked out once. Names
 * that are only referred to (missing snapshots) are nodes without parents.
 *
 * Closures are built from the parents' closures, newest parent first,
 * skipping a parent already inside the closure being built: a committed
 * snapshot lists its whole stack as parents, so the top parent's closure
 * already holds all the others and each closure costs its own size rather
 * than the sum of its parents' closures. The skip is sound for any graph,
 * since a closure holds the closures of everything in it.
 */
export class SnapshotGraph {
  private readonly names: string[] = []
  private readonly index = new Map<string, number>()
  private readonly parents: number[][] = []
  private readonly closures: Int32Array[]
  /** 1 when every snapshot the closure names exists and no cycle is reachable. */
  private readonly complete: Uint8Array
  private readonly mark: Uint32Array
  private stamp = 0

  constructor (inv: Pick<Inventory, 'snapshots' | 'records'>) {
    for (const s of inv.snapshots.values()) this.node(s.name)
    for (const s of inv.snapshots.values()) this.parents[this.index.get(s.name)!] = s.parents.map((p) => this.node(p))
    for (const r of inv.records) for (const l of r.layers) this.node(l)
    const exists = this.names.map((n) => inv.snapshots.has(n))
    this.mark = new Uint32Array(this.names.length)
    this.closures = new Array<Int32Array>(this.names.length)
    this.complete = new Uint8Array(this.names.length)
    // Components come parents first, so every parent's closure is known when a child's is built.
    for (const members of stronglyConnected(this.parents)) {
      const stamp = this.nextStamp()
      const out: number[] = []
      for (const m of members) { this.mark[m] = stamp; out.push(m) }
      const cyclic = members.length > 1 || this.parents[members[0]!]!.includes(members[0]!)
      let complete = !cyclic && members.every((m) => exists[m])
      for (const m of members) {
        const ps = this.parents[m]!
        for (let j = ps.length - 1; j >= 0; j--) {
          const p = ps[j]!
          if (this.mark[p] === stamp) continue
          if (this.complete[p] === 0) complete = false
          for (const c of this.closures[p]!) if (this.mark[c] !== stamp) { this.mark[c] = stamp; out.push(c) }
        }
      }
      const closure = Int32Array.from(out)
      for (const m of members) { this.closures[m] = closure; this.complete[m] = complete ? 1 : 0 }
    }
  }

  get size (): number { return this.names.length }
  indexOf (name: string): number | undefined { return this.index.get(name) }
  nameOf (i: number): string { return this.names[i]! }
  isComplete (i: number): boolean { return this.complete[i] === 1 }
  closureOf (i: number): Int32Array { return this.closures[i]! }

  /** The union of the named snapshots' closures, and whether all of them are whole. */
  union (names: readonly string[]): { nodes: number[]; complete: boolean } {
    const stamp = this.nextStamp()
    const nodes: number[] = []
    let complete = true
    for (let j = names.length - 1; j >= 0; j--) {
      const i = this.index.get(names[j]!)!
      if (this.mark[i] === stamp) continue
      if (this.complete[i] === 0) complete = false
      for (const c of this.closures[i]!) if (this.mark[c] !== stamp) { this.mark[c] = stamp; nodes.push(c) }
    }
    return { nodes, complete }
  }

  private node (name: string): number {
    let i = this.index.get(name)
    if (i === undefined) {
      i = this.names.length
      this.names.push(name)
      this.index.set(name, i)
      this.parents.push([])
    }
    return i
  }

  private nextStamp (): number {
    if (this.stamp === 0xffffffff) { this.mark.fill(0); this.stamp = 0 }
    return ++this.stamp
  }
}

/**
 * Tarjan's strongly connected components over `edges` (node → successors),
 * without recursion (chains can be thousands deep). Each component comes
 * after every component it reaches.
 */
function stronglyConnected (edges: readonly (readonly number[])[]): number[][] {
  const n = edges.length
  const order = new Int32Array(n).fill(-1)
  const low = new Int32Array(n)
  const onStack = new Uint8Array(n)
  const stack: number[] = []
  const out: number[][] = []
  const frames: number[] = []
  const nextEdge: number[] = []
  let counter = 0
  const enter = (v: number): void => {
    order[v] = low[v] = counter++
    stack.push(v); onStack[v] = 1
    frames.push(v); nextEdge.push(0)
  }
  for (let root = 0; root < n; root++) {
    if (order[root] !== -1) continue
    enter(root)
    while (frames.length > 0) {
      const top = frames.length - 1
      const v = frames[top]!
      const e = nextEdge[top]!
      if (e < edges[v]!.length) {
        nextEdge[top] = e + 1
        const w = edges[v]![e]!
        if (order[w] === -1) enter(w)
        else if (onStack[w] === 1) low[v] = Math.min(low[v]!, order[w]!)
        continue
      }
      frames.pop(); nextEdge.pop()
      if (frames.length > 0) { const u = frames[frames.length - 1]!; low[u] = Math.min(low[u]!, low[v]!) }
      if (low[v] === order[v]) {
        const members: number[] = []
        let w: number
        do { w = stack.pop()!; onStack[w] = 0; members.push(w) } while (w !== v)
        out.push(members)
      }
    }
  }
  return out
}
