import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
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
 * test mount under `stateDir`; the answer is recorded in the state dir and
 * reused by later processes. `fresh` probes again (doctor).
 */
export async function detectSnapshotter (stateDir: string, opts: { fresh?: boolean } = {}): Promise<SnapshotterDetection> {
  let found = opts.fresh === true ? undefined : detected.get(stateDir)
  if (found === undefined) {
    found = opts.fresh === true ? probeAndRecord(stateDir) : readRecorded(stateDir).then(async (r) => r ?? await probeAndRecord(stateDir))
    detected.set(stateDir, found)
  }
  return await found
}

// The test mount costs two process spawns, so its outcome is kept in the state
// dir, tied to the filesystem it was made on (a state dir moved elsewhere is probed again).
const RECORD = 'snapshotter.json'

interface RecordedDetection extends SnapshotterDetection { dev: number }

async function readRecorded (stateDir: string): Promise<SnapshotterDetection | undefined> {
  try {
    const [text, st] = await Promise.all([readFile(join(stateDir, RECORD), 'utf8'), stat(stateDir)])
    const r = JSON.parse(text) as Partial<RecordedDetection>
    if (r.dev !== st.dev || (r.backend !== 'overlay' && r.backend !== 'copy')) return undefined
    return { backend: r.backend, ...(typeof r.reason === 'string' ? { reason: r.reason } : {}) }
  } catch {
    return undefined
  }
}

async function probeAndRecord (stateDir: string): Promise<SnapshotterDetection> {
  const found = await tryOverlay(stateDir)
  const record: RecordedDetection = { ...found, dev: (await stat(stateDir)).dev }
  const tmp = join(stateDir, `.${RECORD}-${process.pid}-${randomBytes(4).toString('hex')}`)
  // Advisory: when it cannot be written the next build simply probes again.
  await writeFile(tmp, JSON.stringify(record) + '\n').then(async () => await rename(tmp, join(stateDir, RECORD)))
    .catch(async () => await rm(tmp, { force: true }).catch(() => undefined))
  return found
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
