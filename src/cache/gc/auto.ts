import { randomBytes } from 'node:crypto'
import { readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { collectGarbage, type CollectReport } from './collect.js'
import { loadGcPolicy } from './config.js'
import type { CacheMountStore } from './inventory.js'

/**
 * The collection a build runs on its own (before it starts when the store is
 * already over the cap, and after it ends): least recently used records go
 * until the build cache is under the cap, then cache mounts if still over.
 * Returns undefined when nothing had to go. With `skipWhenFarUnderCap`
 * nothing is walked when the last figure (a collection's, by any process,
 * plus `addedBytes` of each build since) is under half the cap. A build
 * passes what it added (its new snapshots, twice over for their blobs); one
 * that wrote cache mounts, whose growth it does not measure, walks the store.
 */
export async function collectToCap (root: string, env: NodeJS.ProcessEnv, opts: { cacheMounts?: CacheMountStore; skipWhenFarUnderCap?: boolean; addedBytes?: number } = {}): Promise<CollectReport | undefined> {
  const policy = await loadGcPolicy(root, env)
  if (opts.skipWhenFarUnderCap === true) {
    // The last figure plus what was added since is an upper bound while nothing is removed:
    // far under the cap, the store need not be walked, and the bound is kept for the next build.
    const last = await readLastUsage(root)
    const estimate = last === undefined ? undefined : last.cacheAfter + (opts.addedBytes ?? 0)
    if (last !== undefined && estimate !== undefined && last.maxStorage === policy.maxStorage && estimate < policy.maxStorage / 2) {
      if ((opts.addedBytes ?? 0) > 0) await recordUsage(root, { cacheAfter: estimate, maxStorage: policy.maxStorage })
      return undefined
    }
  }
  const report = await collectGarbage(root, {
    mode: 'lru', targetBytes: policy.maxStorage, includeCacheMounts: true,
    ...(opts.cacheMounts !== undefined ? { cacheMounts: opts.cacheMounts } : {}),
  })
  await recordUsage(root, { cacheAfter: report.cacheAfter, maxStorage: policy.maxStorage })
  const removed = report.records.length + report.snapshots.length + report.blobs.length + report.cacheMounts.length
  return removed > 0 ? report : undefined
}

interface LastUsage { cacheAfter: number; maxStorage: number }

const usageFile = (root: string): string => join(root, 'gc-usage.json')

async function readLastUsage (root: string): Promise<LastUsage | undefined> {
  try {
    const u = JSON.parse(await readFile(usageFile(root), 'utf8')) as Partial<LastUsage>
    return typeof u.cacheAfter === 'number' && typeof u.maxStorage === 'number' ? { cacheAfter: u.cacheAfter, maxStorage: u.maxStorage } : undefined
  } catch {
    return undefined
  }
}

// Advisory: a missing or unwritable figure only means the next build walks the store.
async function recordUsage (root: string, usage: LastUsage): Promise<void> {
  const tmp = join(root, 'tmp', `gc-usage-${process.pid}-${randomBytes(4).toString('hex')}.json`)
  await writeFile(tmp, JSON.stringify(usage) + '\n').then(async () => await rename(tmp, usageFile(root)))
    .catch(async () => await rm(tmp, { force: true }).catch(() => undefined))
}
