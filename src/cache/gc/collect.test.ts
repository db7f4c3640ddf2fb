import { spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, readdir, utimes, writeFile } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { sha256 } from '../../common/digest.js'
import { MediaType, type Descriptor } from '../../common/oci.js'
import { LocalContentStore } from '../content/index.js'
import { ImageStore } from '../imageStore/index.js'
import { LayerIndex } from '../layers/index.js'
import { LeaseManager } from '../leases/index.js'
import { FileRecordStore, type CacheKey } from '../records/index.js'
import { Snapshotter, snapshotKey, snapshotName } from '../snapshots/index.js'
import { collectGarbage } from './collect.js'
import { takeInventory } from './inventory.js'
import { totalSize } from './plan.js'
import { treeSize } from './sizeCache.js'

const MB = 1024 * 1024
const HOUR = 3600_000
const key = (s: string): CacheKey => sha256(s) as CacheKey

/** A real store on a temp dir; records get explicit last-use times (minutes ago). */
async function store () {
  const root = await mkdtemp(join(tmpdir(), 'tsbuild-gc-'))
  const snapshots = new Snapshotter(root, 'copy')
  const records = new FileRecordStore(root)
  const content = new LocalContentStore(root)
  const layers = new LayerIndex(root)
  const snap = async (name: string, bytes: number, parent?: string): Promise<string> => {
    if (parent === undefined) {
      await snapshots.createCommitted(snapshotName(name), async (fs) => { await writeFile(join(fs, name.replace(/\W/g, '_')), Buffer.alloc(bytes, 7)) })
    } else {
      const k = snapshotKey(`k-${name}`)
      await snapshots.prepare(k, snapshotName(parent))
      await writeFile(join(snapshots.activeFsPath(k), name.replace(/\W/g, '_')), Buffer.alloc(bytes, 7))
      await snapshots.commit(k, snapshotName(name))
    }
    return name
  }
  const record = async (id: string, snaps: string[], minutesAgo: number): Promise<CacheKey> => {
    await records.put({ key: key(id), layers: snaps, description: `step ${id}`, createdAt: new Date().toISOString() })
    const t = new Date(Date.now() - minutesAgo * 60_000)
    await utimes(join(root, 'records', `${key(id).slice(7)}.json`), t, t)
    return key(id)
  }
  const exists = async (name: string): Promise<boolean> => (await snapshots.stat(snapshotName(name))) !== undefined
  return { root, snapshots, records, content, layers, snap, record, exists }
}

// Orphans younger than the grace period are kept; these tests look an hour ahead so fresh orphans count as old.
const later = () => ({ now: Date.now() + HOUR })

describe('collectGarbage', () => {
  test('under a cap, least recently used records go first with the snapshots only they hold', async () => {
    const s = await store()
    await s.snap('base', MB)
    await s.snap('a', MB, 'base'); await s.snap('b', MB, 'base'); await s.snap('c', MB, 'base')
    const ka = await s.record('a', ['a'], 30)
    const kb = await s.record('b', ['b'], 20)
    const kc = await s.record('c', ['c'], 10)
    const before = totalSize(await takeInventory(s.root))
    const report = await collectGarbage(s.root, { ...later(), targetBytes: before - MB / 2 })
    expect(report.records.map((r) => r.key)).toEqual([ka])
    expect(report.snapshots).toEqual(['a'])
    expect(await s.exists('base')).toBe(true)
    expect(await s.records.get(ka)).toBeUndefined()
    expect(await s.records.get(kb)).toBeDefined()
    expect(await s.records.get(kc)).toBeDefined()
    expect(report.cacheAfter).toBeLessThanOrEqual(before - MB / 2)
    // Every remaining record's snapshot chain is whole.
    for (const n of ['b', 'c']) expect(await s.snapshots.lowerDirs([snapshotName(n)])).toHaveLength(2)
  })

  test('a shared parent is freed only with its last record', async () => {
    const s = await store()
    await s.snap('base', MB)
    await s.snap('a', 10, 'base'); await s.snap('b', 10, 'base')
    await s.record('a', ['a'], 30); await s.record('b', ['b'], 20)
    const report = await collectGarbage(s.root, { ...later(), mode: 'all' })
    expect(report.records).toHaveLength(2)
    expect(new Set(report.snapshots)).toEqual(new Set(['a', 'b', 'base']))
    expect(await readdir(join(s.root, 'snapshots'))).toEqual(['names'])
    expect(await readdir(join(s.root, 'snapshots', 'names'))).toEqual([])
  })

  test('a live lease keeps what was used after it started; a dead one keeps nothing', async () => {
    const s = await store()
    await s.snap('old', MB); await s.snap('used', MB)
    await s.record('old', ['old'], 60)
    const lease = await new LeaseManager(s.root).acquire({}, Date.now() - 5 * 60_000)
    const kUsed = await s.record('used', ['used'], 1)
    const report = await collectGarbage(s.root, { ...later(), targetBytes: 0 })
    expect(report.records.map((r) => r.description)).toEqual(['step old'])
    expect(await s.records.get(kUsed)).toBeDefined()
    expect(await s.exists('used')).toBe(true)
    await lease.release()

    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString()
    await writeFile(join(s.root, 'leases', 'dead.json'), JSON.stringify({ id: 'dead', pid: Number(dead), startedMs: 0, records: [kUsed], snapshots: [], blobs: [] }))
    const second = await collectGarbage(s.root, { ...later(), targetBytes: 0 })
    expect(second.records.map((r) => r.key)).toEqual([kUsed])
    expect(await readdir(join(s.root, 'leases'))).toEqual([])
  })

  test('blobs of stored images stay; layer blobs made from removed snapshots go', async () => {
    const s = await store()
    await s.snap('built', MB)
    await s.record('built', ['built'], 30)
    const cached = await s.content.writeBytes(Buffer.alloc(MB, 1))
    await s.layers.addBlob('built', cached.digest, { mediaType: MediaType.ociLayerGzip, ...cached })
    const layer = await s.content.writeBytes(Buffer.alloc(MB, 2))
    const config = await s.content.writeBytes(JSON.stringify({ rootfs: { type: 'layers', diff_ids: [] } }))
    const manifest = await s.content.writeBytes(JSON.stringify({
      schemaVersion: 2, mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, ...config }, layers: [{ mediaType: MediaType.ociLayerGzip, ...layer }],
    }))
    await (await ImageStore.open(s.root)).put('app', { mediaType: MediaType.ociManifest, ...manifest } as Descriptor)
    const stray = await s.content.writeBytes('nobody points here')

    const report = await collectGarbage(s.root, { ...later(), mode: 'all' })
    expect(new Set(report.blobs)).toEqual(new Set([cached.digest, stray.digest]))
    for (const d of [layer.digest, config.digest, manifest.digest]) expect(await s.content.info(d)).toBeDefined()
    expect(await s.content.info(cached.digest)).toBeUndefined()
    expect(await readdir(join(s.root, 'layers'))).toEqual([])
  })

  test('young orphans are spared, records with a missing snapshot are dropped', async () => {
    const s = await store()
    await s.snap('fresh', 100)
    await s.snap('freed', 100)
    await s.record('freed', ['freed'], 5)
    const freed = await collectGarbage(s.root, { mode: 'all', olderThanMs: 60_000 })
    expect(freed.snapshots).toEqual(['freed'])
    const broken = await s.record('broken', ['gone'], 5)
    const report = await collectGarbage(s.root, { targetBytes: Number.MAX_SAFE_INTEGER })
    expect(report.records.map((r) => r.key)).toEqual([broken])
    expect(await s.exists('fresh')).toBe(true)
  })

  test('old temp dirs go, but not a build context a running build unpacked there', async () => {
    const s = await store()
    await collectGarbage(s.root, { targetBytes: Number.MAX_SAFE_INTEGER })
    const twoHours = new Date(Date.now() - 2 * HOUR)
    for (const name of [`git-context-${process.pid}-abc`, 'stdin-context-4194305-abc', 'leftover']) {
      await mkdir(join(s.root, 'tmp', name))
      await utimes(join(s.root, 'tmp', name), twoHours, twoHours)
    }
    await collectGarbage(s.root, { targetBytes: Number.MAX_SAFE_INTEGER })
    expect(await readdir(join(s.root, 'tmp'))).toEqual([`git-context-${process.pid}-abc`])
  })

  test('cache-key locks left by dead builds go once old; live or young ones stay', async () => {
    const s = await store()
    await collectGarbage(s.root, { targetBytes: Number.MAX_SAFE_INTEGER })
    const lock = async (name: string, pid: number) => {
      const p = join(s.root, 'locks', name)
      await writeFile(p, JSON.stringify({ pid, host: hostname(), token: name }))
      return p
    }
    // pid 2^22+1 is above Linux's pid_max ceiling, so it cannot be alive.
    await lock('key-dead.lock', 4194305)
    await lock('key-live.lock', process.pid)
    const young = await lock('key-young.lock', 4194305)
    const twoHours = new Date(Date.now() - 2 * HOUR)
    for (const n of ['key-dead.lock', 'key-live.lock']) await utimes(join(s.root, 'locks', n), twoHours, twoHours)
    await utimes(young, new Date(), new Date())
    await collectGarbage(s.root, { targetBytes: Number.MAX_SAFE_INTEGER })
    expect((await readdir(join(s.root, 'locks'))).filter((n) => n.startsWith('key-')).sort()).toEqual(['key-live.lock', 'key-young.lock'])
  })

  test('prune filters: until= keeps recent records, keepStorage stops early, dry run deletes nothing', async () => {
    const s = await store()
    for (const [n, ago] of [['p', 120], ['q', 90], ['r', 5]] as const) { await s.snap(n, MB); await s.record(n, [n], ago) }
    const dry = await collectGarbage(s.root, { ...later(), mode: 'all', dryRun: true })
    expect(dry.records).toHaveLength(3)
    expect(await s.exists('p')).toBe(true)
    const until = await collectGarbage(s.root, { now: Date.now(), mode: 'all', olderThanMs: 60 * 60_000 })
    expect(until.records.map((r) => r.description)).toEqual(['step p', 'step q'])
    const keep = await collectGarbage(s.root, { ...later(), mode: 'all', targetBytes: 10 * MB })
    expect(keep.records).toEqual([])
    expect(await s.exists('r')).toBe(true)
  })

  test('cache mounts go with includeCacheMounts, least recently used first', async () => {
    const s = await store()
    const removed: string[] = []
    const mounts = {
      list: async () => [{ id: 'new', lastUsed: new Date().toISOString(), sizeBytes: MB }, { id: 'old', lastUsed: new Date(0).toISOString(), sizeBytes: MB }],
      remove: async (id: string) => { removed.push(id) },
    }
    const report = await collectGarbage(s.root, { ...later(), includeCacheMounts: true, targetBytes: MB + MB / 2, cacheMounts: mounts })
    expect(report.cacheMounts).toEqual(['old'])
    expect(removed).toEqual(['old'])

    const lease = await new LeaseManager(s.root).acquire()
    const during = await collectGarbage(s.root, { ...later(), includeCacheMounts: true, targetBytes: 0, cacheMounts: mounts })
    await lease.release()
    expect(during.cacheMounts).toEqual([])
  })

  test('inventory sizes match the tree on disk', async () => {
    const s = await store()
    await s.snap('x', 3 * MB + 17)
    const inv = await takeInventory(s.root)
    const snap = inv.snapshots.get('x')!
    expect(snap.size).toBe(await treeSize(join(s.root, 'snapshots', snap.id)))
    expect(snap.size).toBeGreaterThan(3 * MB)
    const du = spawnSync('du', ['-sb', join(s.root, 'snapshots', snap.id)]).stdout.toString()
    expect(Number(du.split('\t')[0])).toBe(snap.size)
  })
})
