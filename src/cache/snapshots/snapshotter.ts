import { createHash, randomBytes } from 'node:crypto'
import { mkdir, readFile, readlink, rename, rm, symlink, writeFile, readdir, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { TsbuildError } from '../../common/errors.js'
import { computeDiff, pruneRedundantDirs } from './diff.js'
import { mergeLayers } from './merge.js'
import type { Mount, SnapshotInfo, SnapshotKey, SnapshotMeta, SnapshotName, SnapshotParents, SnapshotterBackend } from './types.js'
import { isProcessAlive } from '../../common/process.js'

/**
 * Snapshots on disk, under `<stateDir>/snapshots`:
 *   a-<hash(key)>/{fs,work,base,meta.json}  active (writable) or view snapshot
 *   <id>/{fs,meta.json}                    committed diff, immutable
 *   names/<hash(name)> -> <id>             the name of a committed snapshot
 * A snapshot becomes committed only by renaming its active dir to `<id>`, and
 * named only by creating the `names/` link (first creator wins), so a crash
 * leaves either an active dir or an unnamed one, both swept by `cleanup()`.
 * The `fs` dir of a committed snapshot is always in overlay diff format.
 */
export class Snapshotter {
  readonly root: string
  readonly backend: SnapshotterBackend
  private readonly inFlight = new Set<string>()
  private readonly links = new Map<SnapshotName, ChainLink>()

  constructor (stateDir: string, backend: SnapshotterBackend) {
    this.root = join(stateDir, 'snapshots')
    this.backend = backend
  }

  /** Create a writable snapshot on `parent`; returns the mounts for its rootfs. */
  async prepare (key: SnapshotKey, parent?: SnapshotParents): Promise<Mount[]> {
    return await this.createActive(key, 'active', parent)
  }

  /** A read-only snapshot of `parent`; commit is refused, remove when done. */
  async view (key: SnapshotKey, parent: SnapshotParents): Promise<Mount[]> {
    return await this.createActive(key, 'view', parent)
  }

  /** The mounts of an existing active or view snapshot. */
  async mounts (key: SnapshotKey): Promise<Mount[]> {
    const dir = this.activeDir(key)
    const meta = await this.readMeta(dir, `snapshot key ${key}`)
    return await this.mountsFor(dir, meta)
  }

  /** Path of the writable directory of an active snapshot (the upperdir with overlay). */
  activeFsPath (key: SnapshotKey): string {
    return join(this.activeDir(key), 'fs')
  }

  /**
   * Commit an active snapshot under `name`. Its mounts must be unmounted first.
   * When `name` already exists (another process committed the same content),
   * this one is discarded and the existing snapshot is kept: a dedupe.
   */
  async commit (key: SnapshotKey, name: SnapshotName): Promise<SnapshotInfo> {
    const dir = this.activeDir(key)
    const meta = await this.readMeta(dir, `snapshot key ${key}`)
    if (meta.kind !== 'active') throw new TsbuildError('INVALID_INSTRUCTION', `snapshot ${key} is a read-only view and cannot be committed`)
    const parents = meta.parents as SnapshotName[]
    const lowers = await this.lowerDirs(parents)
    if (this.backend === 'copy') {
      const diff = join(dir, 'diff')
      await mkdir(diff)
      await computeDiff(join(dir, 'base'), join(dir, 'fs'), diff)
      await rm(join(dir, 'fs'), { recursive: true, force: true })
      await rm(join(dir, 'base'), { recursive: true, force: true })
      await rename(diff, join(dir, 'fs'))
    } else {
      await rm(join(dir, 'work'), { recursive: true, force: true })
      await pruneRedundantDirs(join(dir, 'fs'), [...lowers].reverse())
    }
    return await this.publish(dir, { ...meta, kind: 'committed', name, key: undefined }, name)
  }

  /** Remove an active snapshot by key, or a committed one by name. Absent is not an error. */
  async remove (keyOrName: SnapshotKey | SnapshotName): Promise<void> {
    await rm(this.activeDir(keyOrName as SnapshotKey), { recursive: true, force: true })
    const link = this.nameLink(keyOrName as SnapshotName)
    this.links.delete(keyOrName as SnapshotName)
    const id = await readlink(link).catch(() => undefined)
    if (id === undefined) return
    await unlink(link).catch(() => undefined)
    await rm(join(this.root, id), { recursive: true, force: true })
  }

  async stat (name: SnapshotName): Promise<SnapshotInfo | undefined> {
    const id = await readlink(this.nameLink(name)).catch(() => undefined)
    if (id === undefined) return undefined
    const meta = await this.readMeta(join(this.root, id), `snapshot ${name}`)
    this.links.set(name, { id, parents: meta.parents as SnapshotName[] })
    return { name, id, parents: meta.parents as SnapshotName[], diffPath: join(this.root, id, 'fs'), created: meta.created }
  }

  /**
   * Diff dirs of the whole chain under `parents`, bottom first, each layer
   * once (topmost occurrence wins). A snapshot's parents are usually its
   * whole flattened stack, and each of those lists its own stack again, so
   * the walk goes top down and skips a name already seen: everything below
   * it was taken at its topmost place the first time. Read as a tree, the
   * walk doubles with every layer.
   */
  async lowerDirs (parents: readonly SnapshotName[]): Promise<string[]> {
    const topFirst: string[] = []
    const seen = new Set<SnapshotName>()
    const visit = async (name: SnapshotName, depth: number): Promise<void> => {
      if (seen.has(name)) return
      if (depth > 1000) throw new Error(`snapshot parent chain too deep at ${name}`)
      seen.add(name)
      const link = await this.chainLink(name)
      topFirst.push(link.id)
      for (let i = link.parents.length - 1; i >= 0; i--) await visit(link.parents[i]!, depth + 1)
    }
    for (let i = parents.length - 1; i >= 0; i--) await visit(parents[i]!, 0)
    return topFirst.reverse().map((id) => join(this.root, id, 'fs'))
  }

  /**
   * A committed snapshot's id and parents, remembered: committed snapshots
   * never change, and every step reads its whole stack (three times). A name
   * made again (a base layer unpacked after a prune) is updated by `publish`.
   */
  private async chainLink (name: SnapshotName): Promise<ChainLink> {
    const known = this.links.get(name)
    if (known !== undefined) return known
    const info = await this.stat(name)
    if (info === undefined) throw new TsbuildError('NOT_FOUND', `snapshot ${name} not found`)
    return this.links.get(name)!
  }

  /**
   * Sweep what crashed processes left: active dirs and unnamed committed dirs
   * whose owner process is gone. Snapshots of live processes are kept.
   */
  async cleanup (): Promise<string[]> {
    await mkdir(join(this.root, 'names'), { recursive: true })
    const named = new Set<string>()
    for (const n of await readdir(join(this.root, 'names'))) {
      const id = await readlink(join(this.root, 'names', n)).catch(() => undefined)
      if (id !== undefined) named.add(id)
    }
    const removed: string[] = []
    for (const entry of await readdir(this.root)) {
      if (entry === 'names' || named.has(entry) || this.inFlight.has(entry)) continue
      const meta = await this.readMeta(join(this.root, entry), entry).catch(() => undefined)
      const ownerAlive = meta !== undefined && meta.pid !== process.pid && isProcessAlive(meta.pid)
      const ownedHere = meta !== undefined && meta.pid === process.pid && entry.startsWith('a-')
      if (ownerAlive || ownedHere) continue
      await rm(join(this.root, entry), { recursive: true, force: true })
      removed.push(entry)
    }
    return removed
  }

  /** Run `fill` into a fresh snapshot dir and commit it as `name`, unless `name` exists. */
  async createCommitted (name: SnapshotName, fill: (fsDir: string) => Promise<void>): Promise<SnapshotInfo> {
    const existing = await this.stat(name)
    if (existing !== undefined) return existing
    const dir = join(this.root, `a-${randomBytes(8).toString('hex')}`)
    await mkdir(join(dir, 'fs'), { recursive: true })
    const meta: SnapshotMeta = { kind: 'active', parents: [], pid: process.pid, created: new Date().toISOString() }
    await writeFile(join(dir, 'meta.json'), JSON.stringify(meta))
    try {
      await fill(join(dir, 'fs'))
    } catch (err) {
      await rm(dir, { recursive: true, force: true })
      throw err
    }
    return await this.publish(dir, { ...meta, kind: 'committed', name }, name)
  }

  private async createActive (key: SnapshotKey, kind: 'active' | 'view', parent?: SnapshotParents): Promise<Mount[]> {
    const parents: SnapshotName[] = parent === undefined ? [] : typeof parent === 'string' ? [parent as SnapshotName] : [...parent]
    const lowers = await this.lowerDirs(parents)
    await mkdir(this.root, { recursive: true })
    const dir = this.activeDir(key)
    try {
      await mkdir(dir)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new TsbuildError('ALREADY_EXISTS', `snapshot key ${key} already exists`)
      throw err
    }
    const meta: SnapshotMeta = { kind, key, parents, pid: process.pid, created: new Date().toISOString() }
    try {
      await mkdir(join(dir, 'fs'))
      if (this.backend === 'overlay') {
        await mkdir(join(dir, 'work'))
      } else {
        await mergeLayers(lowers, join(dir, 'fs'))
        if (kind === 'active') {
          await mkdir(join(dir, 'base'))
          await mergeLayers(lowers, join(dir, 'base'))
        }
      }
      await writeFile(join(dir, 'meta.json'), JSON.stringify(meta))
      return await this.mountsFor(dir, meta)
    } catch (err) {
      await rm(dir, { recursive: true, force: true })
      throw err
    }
  }

  private async mountsFor (dir: string, meta: SnapshotMeta): Promise<Mount[]> {
    const fs = join(dir, 'fs')
    const readOnly = meta.kind === 'view'
    if (this.backend === 'copy') return [{ type: 'bind', source: fs, options: ['rbind', readOnly ? 'ro' : 'rw'] }]
    const lowersTopFirst = (await this.lowerDirs(meta.parents as SnapshotName[])).reverse()
    if (lowersTopFirst.length === 0) return [{ type: 'bind', source: fs, options: ['rbind', readOnly ? 'ro' : 'rw'] }]
    if (readOnly) {
      if (lowersTopFirst.length === 1) return [{ type: 'bind', source: lowersTopFirst[0]!, options: ['rbind', 'ro'] }]
      return [{ type: 'overlay', source: 'overlay', options: [`lowerdir=${lowersTopFirst.join(':')}`, 'ro'] }]
    }
    return [{ type: 'overlay', source: 'overlay', options: ['index=off', `lowerdir=${lowersTopFirst.join(':')}`, `upperdir=${fs}`, `workdir=${join(dir, 'work')}`] }]
  }

  private async publish (dir: string, meta: SnapshotMeta, name: SnapshotName): Promise<SnapshotInfo> {
    const id = randomBytes(5).toString('hex')
    this.inFlight.add(id)
    try {
      await writeFile(join(dir, 'meta.json'), JSON.stringify(meta))
      await rename(dir, join(this.root, id))
      await mkdir(join(this.root, 'names'), { recursive: true })
      try {
        await symlink(id, this.nameLink(name))
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
        await rm(join(this.root, id), { recursive: true, force: true })
        const existing = await this.stat(name)
        if (existing === undefined) throw new Error(`snapshot ${name} vanished while committing`)
        return existing
      }
      this.links.set(name, { id, parents: meta.parents as SnapshotName[] })
      return { name, id, parents: meta.parents as SnapshotName[], diffPath: join(this.root, id, 'fs'), created: meta.created }
    } finally {
      this.inFlight.delete(id)
    }
  }

  private activeDir (key: SnapshotKey): string {
    return join(this.root, `a-${shortHash(key)}`)
  }

  private nameLink (name: SnapshotName): string {
    return join(this.root, 'names', shortHash(name))
  }

  private async readMeta (dir: string, what: string): Promise<SnapshotMeta> {
    try {
      return JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as SnapshotMeta
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new TsbuildError('NOT_FOUND', `${what} not found`)
      throw err
    }
  }
}

/** Where a committed snapshot lives and what it stacks on. */
interface ChainLink {
  readonly id: string
  readonly parents: readonly SnapshotName[]
}

function shortHash (s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 24)
}

