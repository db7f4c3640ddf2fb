import { FileRecordStore, ImageStore, LayerIndex, LocalContentStore, openStateDir, type StateDir } from '../cache/index.js'
import { openSnapshotter, type Snapshotter } from '../cache/snapshots/index.js'
import { RegistryClient, dockerConfigCredentials, type BlobProgress } from '../registry/index.js'
import type { EventSink } from '../solver/events.js'
import { RuncExecutor } from '../solver/executor/index.js'

/** The long-lived parts of the engine over one state dir. */
export interface Services {
  state: StateDir
  content: LocalContentStore
  images: ImageStore
  records: FileRecordStore
  layerIndex: LayerIndex
  snapshotter: Snapshotter
  executor: RuncExecutor
  registry: RegistryClient
  /** Where byte progress of registry pulls and pushes goes (a build points it at its event stream). */
  progressTo (sink: EventSink | undefined): void
}

export async function openServices (root: string, env: NodeJS.ProcessEnv): Promise<Services> {
  const state = await openStateDir(root)
  const [images, snapshotter] = await Promise.all([ImageStore.open(root), openSnapshotter(root)])
  let sink: EventSink | undefined
  const onProgress = throttledProgress((e) => sink?.(e))
  return {
    state,
    content: new LocalContentStore(root),
    images,
    records: new FileRecordStore(root),
    layerIndex: new LayerIndex(root),
    snapshotter,
    executor: new RuncExecutor(root),
    registry: new RegistryClient({ auth: dockerConfigCredentials({ env }), onProgress }),
    progressTo: (s) => { sink = s },
  }
}

/**
 * Blob progress as progress events, at most every 100 ms per blob (plus the
 * last update): a 100 MB pull reports per chunk, and rawjson prints every event.
 */
function throttledProgress (emit: EventSink): (p: BlobProgress) => void {
  const last = new Map<string, number>()
  return (p) => {
    const id = `${p.direction}-${p.digest}`
    const now = Date.now()
    const done = p.done >= p.total
    if (!done && now - (last.get(id) ?? 0) < 100) return
    last.set(id, now)
    if (done) last.delete(id)
    emit({ type: 'progress', id, name: `${p.direction === 'pull' ? 'pulling' : 'pushing'} ${p.image} ${p.digest.slice(0, 19)}`, current: p.done, total: p.total, ...(done ? { done: true } : {}), time: now })
  }
}
