import { join } from 'node:path'
import { digestHex } from '../../common/digest.js'
import { withFileLock } from '../imageStore/index.js'
import type { CacheKey } from './types.js'

/**
 * Locks on cache keys shared by every tsbuild process using one state dir
 * (`locks/key-<hex>.lock`). A step that missed the cache runs while holding
 * its key's lock, so a second build reaching the same step at the same time
 * waits and then takes the first one's record instead of running it again.
 * A step can run for a long time, so waiting has no deadline; a lock left by
 * a killed process is broken as soon as its pid is found dead.
 */
export function keyLocks (locksDir: string) {
  return async <T>(key: CacheKey, fn: () => Promise<T>, onWait: (holderPid: number | undefined) => void, signal: AbortSignal): Promise<T> =>
    await withFileLock(join(locksDir, `key-${digestHex(key)}.lock`), fn, { timeoutMs: Infinity, signal, onWait })
}
