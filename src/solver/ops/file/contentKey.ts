import { lstat, readdir } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { canonicalJson, sha256, type Digest } from '../../../common/digest.js'
import { OVERLAY_XATTR, readXattrTree } from '../../../common/xattrs.js'
import { checksumSnapshot, hashFile, scanContext } from '../../context/index.js'

/**
 * The content of layers a file op wrote, as one digest: every entry's path,
 * type, mode, owner, size, content, link target and extended attributes (a
 * copy from a stage keeps them, so a file that differs only in its
 * capabilities is other content, as in BuildKit's checksums), and which
 * names are hard links of one file; never times. Two runs of a `COPY --from` that
 * copied the same files give the same digest even when the stage they read
 * was rebuilt. The layers' base is keyed separately, and on one base a copy
 * that wrote the same entries made the same filesystem: an opaque directory
 * (a copy that put a directory where the base has a file) follows from the
 * base and the entries alike, so overlay's own xattrs are left out. Undefined
 * when a layer holds a special file (a whiteout: a deletion, which no copy
 * makes, or a device node the checksum would not see).
 */
export async function layerContentDigest (diffPaths: readonly string[]): Promise<Digest | undefined> {
  const sums: Array<{ tree: Digest; links: string[][]; xattrs?: Array<[string, Array<[string, string]>]> }> = []
  for (const dir of diffPaths) {
    // Which names are one file (hard links): two copies and one file twice differ, though every name reads the same.
    const byInode = new Map<number, string[]>()
    for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
      if (!e.isFile() && !e.isDirectory() && !e.isSymbolicLink()) return undefined
      if (!e.isFile()) continue
      const path = join(e.parentPath, e.name)
      const st = await lstat(path)
      if (st.nlink < 2) continue
      const names = byInode.get(st.ino)
      if (names === undefined) byInode.set(st.ino, [relative(dir, path)])
      else names.push(relative(dir, path))
    }
    const links = [...byInode.values()].map((names) => names.sort()).sort((a, b) => (a[0]! < b[0]! ? -1 : 1))
    const snapshot = await scanContext(dir, { ownership: 'keep' })
    const xattrs = await fileXattrs(dir)
    sums.push({ tree: checksumSnapshot(snapshot, '/', { followSymlinks: false }), links, ...(xattrs.length > 0 ? { xattrs } : {}) })
  }
  return sha256(canonicalJson(sums))
}

/**
 * What a read-only bind mount shows at `path` (a directory or a file), with
 * the same facts layerContentDigest takes; undefined for a special file, or
 * a tree holding one.
 */
export async function mountedContentDigest (path: string): Promise<Digest | undefined> {
  const st = await lstat(path)
  if (st.isDirectory()) return await layerContentDigest([path])
  if (!st.isFile()) return undefined
  const content = await hashFile({ file: path, size: st.size })
  const xattrs = await fileXattrs(path)
  return sha256(canonicalJson({ file: { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, content }, ...(xattrs.length > 0 ? { xattrs } : {}) }))
}

/** Every entry's attributes but overlay's own, sorted by path and name, values in hex. */
async function fileXattrs (dir: string): Promise<Array<[string, Array<[string, string]>]>> {
  const out: Array<[string, Array<[string, string]>]> = []
  for (const [path, attrs] of await readXattrTree(dir)) {
    const kept = [...attrs].filter(([name]) => !OVERLAY_XATTR.test(name)).map(([name, value]): [string, string] => [name, value.toString('hex')])
    if (kept.length > 0) out.push([path, kept.sort((a, b) => (a[0] < b[0] ? -1 : 1))])
  }
  return out.sort((a, b) => (a[0] < b[0] ? -1 : 1))
}
