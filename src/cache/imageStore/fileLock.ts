import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { open, readFile, rename, stat, unlink, link } from 'node:fs/promises'
import { TsbuildError } from '../../common/errors.js'
import { isProcessAlive } from '../../common/process.js'

export interface FileLockOptions {
  /** Give up after this long (ms). */
  timeoutMs?: number
  /** A lock whose owner cannot be checked is broken after this age (ms). */
  staleMs?: number
  signal?: AbortSignal
  /** Called once when the lock is held by someone else and this caller starts waiting (with the holder's pid when readable). */
  onWait?: (holderPid: number | undefined) => void
}

interface LockOwner { pid: number; host: string; token: string }

/**
 * Run `fn` while holding an exclusive lock file (created with O_EXCL), which
 * works across processes on one host and on shared filesystems. A lock left by
 * a dead process on this host is broken at once; one from another host (or
 * unreadable) is broken once older than `staleMs`. The lock is always
 * released, even when `fn` throws.
 */
export async function withFileLock<T> (lockPath: string, fn: () => Promise<T>, opts: FileLockOptions = {}): Promise<T> {
  const owner = await acquire(lockPath, opts)
  try {
    return await fn()
  } finally {
    await release(lockPath, owner)
  }
}

async function acquire (lockPath: string, opts: FileLockOptions): Promise<LockOwner> {
  const timeoutMs = opts.timeoutMs ?? 30_000
  const staleMs = opts.staleMs ?? 30_000
  const owner: LockOwner = { pid: process.pid, host: hostname(), token: randomBytes(8).toString('hex') }
  const deadline = Date.now() + timeoutMs
  let isWaiting = false
  for (let attempt = 0; ; attempt++) {
    opts.signal?.throwIfAborted()
    try {
      const fh = await open(lockPath, 'wx', 0o644)
      try {
        await fh.writeFile(JSON.stringify(owner))
      } finally {
        await fh.close()
      }
      return owner
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    if (await isStale(lockPath, staleMs)) {
      await breakLock(lockPath)
      continue
    }
    if (!isWaiting && opts.onWait !== undefined) opts.onWait((await readOwner(lockPath))?.pid)
    isWaiting = true
    if (Date.now() > deadline) {
      throw new TsbuildError('UNAVAILABLE', `timed out after ${timeoutMs} ms waiting for the lock ${lockPath}`, {
        hint: 'another tsbuild process is updating the store; if none is running, delete the lock file',
      })
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(5 + attempt * 5, 100)))
  }
}

async function readOwner (lockPath: string): Promise<LockOwner | undefined> {
  try {
    const parsed = JSON.parse(await readFile(lockPath, 'utf8')) as Partial<LockOwner>
    if (typeof parsed.pid === 'number' && typeof parsed.host === 'string' && typeof parsed.token === 'string') return parsed as LockOwner
  } catch { /* being written, removed, or garbage: judged by age below */ }
  return undefined
}

/** A lock file whose owner was a process on this host that is gone (killed, say): safe to remove. */
export async function isAbandonedLock (lockPath: string): Promise<boolean> {
  const owner = await readOwner(lockPath)
  return owner !== undefined && owner.host === hostname() && !isProcessAlive(owner.pid)
}

async function isStale (lockPath: string, staleMs: number): Promise<boolean> {
  const owner = await readOwner(lockPath)
  if (owner !== undefined && owner.host === hostname()) return !isProcessAlive(owner.pid)
  try {
    return Date.now() - (await stat(lockPath)).mtimeMs > staleMs
  } catch {
    return false // gone already: the next O_EXCL attempt decides
  }
}


// Two waiters may judge the same lock stale. Renaming it aside is atomic, so
// only one of them moves it; if what was moved turns out to be a fresh lock
// (taken between the check and the rename), it is linked back into place.
async function breakLock (lockPath: string): Promise<void> {
  const judged = await readOwner(lockPath)
  const aside = `${lockPath}.stale-${randomBytes(6).toString('hex')}`
  try {
    await rename(lockPath, aside)
  } catch {
    return
  }
  const moved = await readOwner(aside)
  if (moved !== undefined && judged !== undefined && moved.token !== judged.token) {
    await link(aside, lockPath).catch(() => {})
  }
  await unlink(aside).catch(() => {})
}

async function release (lockPath: string, owner: LockOwner): Promise<void> {
  const current = await readOwner(lockPath)
  // Never remove a lock someone else holds (ours may have been broken as stale).
  if (current?.token === owner.token) await unlink(lockPath).catch(() => {})
}
