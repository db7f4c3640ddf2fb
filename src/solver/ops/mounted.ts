import { randomBytes } from 'node:crypto'
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { mountAll, snapshotKey, unmountAll, type Snapshotter } from '../../cache/snapshots/index.js'

let counter = 0
export function uniqueKey (prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${(counter++).toString(36)}-${randomBytes(3).toString('hex')}`
}

/**
 * Mount a read-only view of `layers` on a fresh host directory for the length
 * of `fn`, then unmount and drop the view, whatever happens.
 */
export async function withView<T> (snapshotter: Snapshotter, stateDir: string, layers: readonly string[], fn: (root: string) => Promise<T>): Promise<T> {
  const target = join(stateDir, 'mnt', uniqueKey('view'))
  await mkdir(target, { recursive: true })
  if (layers.length === 0) {
    try { return await fn(target) } finally { await rm(target, { recursive: true, force: true }) }
  }
  const key = snapshotKey(uniqueKey('view'))
  const mounts = await snapshotter.view(key, layers as never)
  try {
    await mountAll(mounts, target, { relativeTo: join(stateDir, 'snapshots') })
    try { return await fn(target) } finally { await unmountAll(target) }
  } finally {
    await snapshotter.remove(key).catch(() => {})
    await rm(target, { recursive: true, force: true }).catch(() => {})
  }
}

/**
 * Prepare a writable snapshot on `layers`, mount it, run `fn` on it, then
 * commit it under a new name (returned). On error the snapshot is removed.
 */
export async function withWritable (snapshotter: Snapshotter, stateDir: string, layers: readonly string[], fn: (root: string) => Promise<void>): Promise<string> {
  const target = join(stateDir, 'mnt', uniqueKey('rw'))
  await mkdir(target, { recursive: true })
  const key = snapshotKey(uniqueKey('active'))
  const mounts = await snapshotter.prepare(key, layers as never)
  let committed = false
  try {
    await mountAll(mounts, target, { relativeTo: join(stateDir, 'snapshots') })
    try { await fn(target) } finally { await unmountAll(target) }
    const name = uniqueKey('layer')
    await snapshotter.commit(key, name as never)
    committed = true
    return name
  } finally {
    if (!committed) await snapshotter.remove(key).catch(() => {})
    await rm(target, { recursive: true, force: true }).catch(() => {})
  }
}
