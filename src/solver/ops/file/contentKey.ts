import { readdir } from 'node:fs/promises'
import { canonicalJson, sha256, type Digest } from '../../../common/digest.js'
import { listOpaqueDirs } from '../../../cache/snapshots/fsext.js'
import { checksumSnapshot, scanContext } from '../../context/index.js'

/**
 * The content of layers a file op wrote, as one digest: every entry's path,
 * type, mode, owner, size, content and link target, never its times (what
 * BuildKit's content checksums cover). Two runs of a `COPY --from` that
 * copied the same files give the same digest even when the stage they read
 * was rebuilt. Undefined when a layer deletes anything (a whiteout or an
 * opaque directory): its effect depends on what lies below, which a
 * checksum of the layer alone cannot see.
 */
export async function layerContentDigest (diffPaths: readonly string[]): Promise<Digest | undefined> {
  const sums: Digest[] = []
  for (const dir of diffPaths) {
    for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
      if (!e.isFile() && !e.isDirectory() && !e.isSymbolicLink()) return undefined
    }
    if ((await listOpaqueDirs(dir)).size > 0) return undefined
    const snapshot = await scanContext(dir, { ownership: 'keep' })
    sums.push(checksumSnapshot(snapshot, '/', { followSymlinks: false }))
  }
  return sha256(canonicalJson(sums))
}
