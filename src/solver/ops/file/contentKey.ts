import { readdir } from 'node:fs/promises'
import { canonicalJson, sha256, type Digest } from '../../../common/digest.js'
import { checksumSnapshot, scanContext } from '../../context/index.js'

/**
 * The content of layers a file op wrote, as one digest: every entry's path,
 * type, mode, owner, size, content and link target, never its times (what
 * BuildKit's content checksums cover). Two runs of a `COPY --from` that
 * copied the same files give the same digest even when the stage they read
 * was rebuilt. The layers' base is keyed separately, and on one base a copy
 * that wrote the same entries made the same filesystem: an opaque directory
 * (a copy that put a directory where the base has a file) follows from the
 * base and the entries alike, so overlay's xattrs need no reading. Undefined
 * when a layer holds a special file (a whiteout: a deletion, which no copy
 * makes, or a device node the checksum would not see).
 */
export async function layerContentDigest (diffPaths: readonly string[]): Promise<Digest | undefined> {
  const sums: Digest[] = []
  for (const dir of diffPaths) {
    for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
      if (!e.isFile() && !e.isDirectory() && !e.isSymbolicLink()) return undefined
    }
    const snapshot = await scanContext(dir, { ownership: 'keep' })
    sums.push(checksumSnapshot(snapshot, '/', { followSymlinks: false }))
  }
  return sha256(canonicalJson(sums))
}
