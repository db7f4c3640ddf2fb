import { FileRecordStore, ImageStore, LayerIndex, LocalContentStore, openStateDir, type StateDir } from '../cache/index.js'
import { openSnapshotter, type Snapshotter } from '../cache/snapshots/index.js'
import { RegistryClient, dockerConfigCredentials } from '../registry/index.js'
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
}

export async function openServices (root: string, env: NodeJS.ProcessEnv): Promise<Services> {
  const state = await openStateDir(root)
  const [images, snapshotter] = await Promise.all([ImageStore.open(root), openSnapshotter(root)])
  return {
    state,
    content: new LocalContentStore(root),
    images,
    records: new FileRecordStore(root),
    layerIndex: new LayerIndex(root),
    snapshotter,
    executor: new RuncExecutor(root),
    registry: new RegistryClient({ auth: dockerConfigCredentials({ env }) }),
  }
}
