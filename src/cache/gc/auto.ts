import { collectGarbage, type CollectReport } from './collect.js'
import { loadGcPolicy } from './config.js'
import type { CacheMountStore } from './inventory.js'

/**
 * The collection a build runs on its own (before it starts when the store is
 * already over the cap, and after it ends): least recently used records go
 * until the build cache is under the cap, then cache mounts if still over.
 * Returns undefined when nothing had to go.
 */
export async function collectToCap (root: string, env: NodeJS.ProcessEnv, opts: { cacheMounts?: CacheMountStore } = {}): Promise<CollectReport | undefined> {
  const policy = await loadGcPolicy(root, env)
  const report = await collectGarbage(root, {
    mode: 'lru', targetBytes: policy.maxStorage, includeCacheMounts: true,
    ...(opts.cacheMounts !== undefined ? { cacheMounts: opts.cacheMounts } : {}),
  })
  const removed = report.records.length + report.snapshots.length + report.blobs.length + report.cacheMounts.length
  return removed > 0 ? report : undefined
}
