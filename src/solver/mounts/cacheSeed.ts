import { execFile } from 'node:child_process'
import { lstat, readdir } from 'node:fs/promises'
import { promisify } from 'node:util'
import { canonicalJson, digestHex, sha256 } from '../../common/digest.js'
import { resolveInRoot } from '../../common/pathInRoot.js'

/** Owner and permission bits a new cache directory starts with. */
export interface CacheDirAttributes {
  uid: number
  gid: number
  mode: number
}

/**
 * The directory a cache mount's input selects, as a new cache directory
 * starts from it: with `from=`/`source=` a stage's (or image's) directory,
 * with only `uid=`/`gid=`/`mode=` the frontend's empty scratch `mkdir /cache`.
 */
export interface CacheBase extends CacheDirAttributes {
  /** Host path of the directory inside the mounted input. */
  path: string
  /** Whether it holds anything to copy; an empty base only gives owner and mode. */
  hasContent: boolean
}

const exec = promisify(execFile)

/**
 * The directory at `selector` inside a mounted input `root`, or undefined when
 * the path is absent or not a directory there (the cache then starts empty,
 * owned by root). Symlinks on the way are followed inside the root, never on
 * the host.
 */
export async function describeCacheBase (root: string, selector: string): Promise<CacheBase | undefined> {
  const path = await resolveInRoot(root, selector)
  const st = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined
    throw err
  })
  if (st === undefined || !st.isDirectory()) return undefined
  const entries = await readdir(path)
  return { path, uid: st.uid, gid: st.gid, mode: st.mode & 0o7777, hasContent: entries.length > 0 }
}

/**
 * Copy the contents of `source` into the existing directory `dest`, keeping
 * owners, modes, times, xattrs, hard links and symlinks as they are (what a
 * snapshot of the base would hold). `cp -a` does all of that in C; Node's
 * `fs.cp` keeps neither owners nor special files.
 */
export async function copyCacheBase (source: string, dest: string): Promise<void> {
  await exec('cp', ['-a', '--no-dereference', '--', `${source}/.`, `${dest}/`], { maxBuffer: 16 * 1024 * 1024 })
}

/**
 * What tells one base from another in the cache's name: the input's layers
 * (stable while its result is cached, as BuildKit's base snapshot id is) and
 * the selected directory, since only that subtree is copied.
 */
export function cacheBaseKey (layers: readonly string[], selector: string): string {
  return digestHex(sha256(canonicalJson({ layers, selector }))).slice(0, 16)
}
