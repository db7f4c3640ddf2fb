import type { ContentProvider } from '../../cache/index.js'
import { unpackLayer, type SnapshotName, type Snapshotter } from '../../cache/snapshots/index.js'
import type { ImageLayer } from './imageSource.js'

/**
 * Unpack an image's layers into committed snapshots named by their diffIDs,
 * lowest first; a layer some image already unpacked is reused, not read
 * again. Returns the snapshot names in order (the lowerdir chain, reversed).
 */
export async function unpackImageLayers (layers: readonly ImageLayer[], content: ContentProvider, snapshotter: Snapshotter, opts: { signal?: AbortSignal } = {}): Promise<SnapshotName[]> {
  const names: SnapshotName[] = []
  for (const layer of layers) {
    const name = layer.diffID as string as SnapshotName
    // Checked first so an existing snapshot does not open (and leak) a blob stream.
    if (await snapshotter.stat(name) === undefined) {
      await unpackLayer(snapshotter, layer.diffID, content.read(layer.descriptor.digest), opts)
    }
    names.push(name)
  }
  return names
}
