import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { mountAll, unmountAll } from './mount.js'
import { Snapshotter } from './snapshotter.js'
import type { SnapshotterBackend } from './types.js'

export interface SnapshotterDetection {
  backend: SnapshotterBackend
  /** Why overlay is not used, when it is not. */
  reason?: string
}

const detected = new Map<string, Promise<SnapshotterDetection>>()

/**
 * Decide once per directory whether overlayfs can be mounted there (upper and
 * work dirs must live on a filesystem that supports it), by trying a small
 * test mount under `stateDir`.
 */
export async function detectSnapshotter (stateDir: string): Promise<SnapshotterDetection> {
  let found = detected.get(stateDir)
  if (found === undefined) {
    found = tryOverlay(stateDir)
    detected.set(stateDir, found)
  }
  return await found
}

async function tryOverlay (stateDir: string): Promise<SnapshotterDetection> {
  await mkdir(stateDir, { recursive: true })
  const dir = await mkdtemp(join(stateDir, '.overlay-check-'))
  try {
    for (const d of ['l1', 'l2', 'u', 'w', 'm']) await mkdir(join(dir, d))
    const target = join(dir, 'm')
    await mountAll([{ type: 'overlay', source: 'overlay', options: [`lowerdir=${join(dir, 'l2')}:${join(dir, 'l1')}`, `upperdir=${join(dir, 'u')}`, `workdir=${join(dir, 'w')}`] }], target)
    await unmountAll(target)
    return { backend: 'overlay' }
  } catch (err) {
    return { backend: 'copy', reason: `overlayfs cannot be mounted under ${stateDir}: ${(err as Error).message}` }
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined)
  }
}

/** A snapshotter for `stateDir` using overlayfs when it works there, else the copy backend. */
export async function openSnapshotter (stateDir: string, opts: { backend?: SnapshotterBackend } = {}): Promise<Snapshotter> {
  const backend = opts.backend ?? (await detectSnapshotter(stateDir)).backend
  const s = new Snapshotter(stateDir, backend)
  await mkdir(join(s.root, 'names'), { recursive: true })
  return s
}
