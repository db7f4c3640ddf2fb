import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmod, chown, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { withFileLock } from '../../cache/index.js'
import { digestHex, sha256 } from '../../common/digest.js'
import { hasCode, TsbuildError } from '../../common/errors.js'

export type CacheSharing = 'shared' | 'private' | 'locked'

export interface CacheMountRequest {
  id: string
  sharing: CacheSharing
  uid?: number
  gid?: number
  /** Permission bits of the directory when it is first created (default 0o755). */
  mode?: number
  /**
   * What a new directory starts from (`from=`/`source=` with contents): a
   * cache with a base is kept apart from the plain cache of the same id and
   * from caches on other bases, as BuildKit keys it by id and base snapshot.
   */
  baseKey?: string
  /** Fills a new, empty directory with the base's contents; never called for an existing one. */
  seed?: (dir: string) => Promise<void>
}

/** A cache directory in use. `release` is idempotent and must be called once the step is done. */
export interface CacheMountLease {
  hostPath: string
  release: () => Promise<void>
}

/** What `<stateDir>/cachemounts/<hash>/meta.json` records for du and GC. */
export interface CacheMountUsage {
  /** The cache's name: its id, or `id:base` for one that started from a base (what `remove` takes). */
  id: string
  lastUsed: string
  sizeBytes: number
  dir: string
}

// Waiters for a `locked` cache queue until the holder finishes; a build step may take hours.
const LOCK_WAIT_MS = 24 * 3600_000
const exec = promisify(execFile)

/**
 * Persistent directories for `RUN --mount=type=cache`, kept under
 * `<stateDir>/cachemounts/<sha256(name)>/`, where the name is the id, or
 * `id:base` for a cache that starts from a base's contents:
 *   dirs/0, dirs/1 …   instances; 0 is the one everybody starts with
 *   locks/N.lock       held by a `locked` user, or a `private` user of instance N
 *   meta.json          id, last use and size, for du and GC
 * `shared` users all get instance 0 at once; `private` users take the first
 * instance nobody holds (creating a new one when all are busy; it is reused
 * later); `locked` users wait for instance 0. The locks are files, so this
 * holds across tsbuild processes sharing one state dir. Contents never enter
 * a layer or a cache key.
 */
export class CacheMountManager {
  readonly root: string

  constructor (stateDir: string) {
    this.root = join(stateDir, 'cachemounts')
  }

  async acquire (req: CacheMountRequest, signal?: AbortSignal): Promise<CacheMountLease> {
    if (req.id === '') throw new TsbuildError('INVALID_INSTRUCTION', 'a cache mount needs a non-empty id')
    const name = req.baseKey === undefined ? req.id : `${req.id}:${req.baseKey}`
    const base = join(this.root, digestHex(sha256(name)))
    await mkdir(join(base, 'dirs'), { recursive: true })
    await mkdir(join(base, 'locks'), { recursive: true })
    switch (req.sharing) {
      case 'shared': {
        const hostPath = await this.ensureInstance(base, 0, req)
        return this.lease(base, name, hostPath, async () => {})
      }
      case 'locked': {
        const unlock = await holdLock(join(base, 'locks', '0.lock'), LOCK_WAIT_MS, signal)
        return await this.leaseLocked(base, name, 0, req, unlock)
      }
      case 'private': {
        for (let n = 0; ; n++) {
          signal?.throwIfAborted()
          const unlock = await holdLock(join(base, 'locks', `${n}.lock`), 0, signal).catch((err: unknown) => {
            if (hasCode(err, 'UNAVAILABLE')) return undefined
            throw err
          })
          if (unlock !== undefined) return await this.leaseLocked(base, name, n, req, unlock)
        }
      }
    }
  }

  /** Every cache mount with its recorded last use and size. */
  async list (): Promise<CacheMountUsage[]> {
    const out: CacheMountUsage[] = []
    for (const entry of await readdir(this.root).catch(() => [] as string[])) {
      const dir = join(this.root, entry)
      const meta = await readMeta(dir)
      if (meta !== undefined) out.push({ ...meta, dir })
    }
    return out
  }

  /** Delete a cache mount's data by its name (as `list` gives it); fails with UNAVAILABLE while a `locked`/`private` user holds it. */
  async remove (name: string): Promise<void> {
    const base = join(this.root, digestHex(sha256(name)))
    const unlock = await holdLock(join(base, 'locks', '0.lock'), 0)
    try {
      await rm(join(base, 'dirs'), { recursive: true, force: true })
      await rm(join(base, 'meta.json'), { force: true })
    } finally {
      await unlock()
    }
  }

  private async leaseLocked (base: string, name: string, n: number, req: CacheMountRequest, unlock: () => Promise<void>): Promise<CacheMountLease> {
    try {
      const hostPath = await this.ensureInstance(base, n, req)
      return this.lease(base, name, hostPath, unlock)
    } catch (err) {
      await unlock()
      throw err
    }
  }

  private lease (base: string, name: string, hostPath: string, unlock: () => Promise<void>): CacheMountLease {
    let released: Promise<void> | undefined
    const release = async (): Promise<void> => {
      released ??= (async () => {
        try {
          await recordUse(base, name)
        } finally {
          await unlock()
        }
      })()
      await released
    }
    return { hostPath, release }
  }

  // Built aside and renamed into place, so concurrent first users see either
  // nothing or a complete, seeded directory.
  private async ensureInstance (base: string, n: number, req: CacheMountRequest): Promise<string> {
    const target = join(base, 'dirs', String(n))
    if (await isDir(target)) return target
    const staging = join(base, 'dirs', `.new-${n}-${randomBytes(6).toString('hex')}`)
    await mkdir(staging)
    try {
      if (req.seed !== undefined) await req.seed(staging)
      await chmod(staging, req.mode ?? 0o755)
      await chown(staging, req.uid ?? 0, req.gid ?? 0)
      await rename(staging, target).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err
      })
    } finally {
      await rm(staging, { recursive: true, force: true })
    }
    return target
  }
}

async function holdLock (lockPath: string, timeoutMs: number, signal?: AbortSignal): Promise<() => Promise<void>> {
  return await new Promise((resolve, reject) => {
    let acquired = false
    let releaseLock!: () => void
    const done = new Promise<void>((r) => { releaseLock = r })
    const held = withFileLock(lockPath, async () => {
      acquired = true
      resolve(async () => { releaseLock(); await held })
      await done
    }, { timeoutMs, ...(signal !== undefined ? { signal } : {}) })
    held.catch((err: unknown) => { if (!acquired) reject(err) })
  })
}

async function recordUse (base: string, name: string): Promise<void> {
  const sizeBytes = await diskUsage(join(base, 'dirs'))
  const meta = { id: name, lastUsed: new Date().toISOString(), sizeBytes }
  const tmp = join(base, `.meta-${randomBytes(6).toString('hex')}`)
  await writeFile(tmp, JSON.stringify(meta))
  await rename(tmp, join(base, 'meta.json'))
}

// `du` walks in C; far cheaper than stat'ing every file of a big package cache from JS.
export async function diskUsage (dir: string): Promise<number> {
  try {
    const { stdout } = await exec('du', ['-s', '-B1', '-x', dir])
    return Number.parseInt(stdout.split('\t')[0] ?? '0', 10) || 0
  } catch {
    return 0
  }
}

async function readMeta (dir: string): Promise<Omit<CacheMountUsage, 'dir'> | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as Omit<CacheMountUsage, 'dir'>
  } catch {
    return undefined
  }
}

async function isDir (p: string): Promise<boolean> {
  return await readdir(p).then(() => true, () => false)
}
