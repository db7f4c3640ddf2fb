import { execFile } from 'node:child_process'
import type { Stats } from 'node:fs'
import { lstat } from 'node:fs/promises'
import { join, posix } from 'node:path'
import { promisify } from 'node:util'

/** Owner and permission bits a new cache directory starts with. */
export interface CacheDirAttributes {
  uid: number
  gid: number
  mode: number
}

const exec = promisify(execFile)

/**
 * The owner and mode of the directory at `selector` in a stack of layer
 * directories in overlay diff format (bottom first), or undefined when the
 * path is absent or not a directory there.
 *
 * A cache mount's input says how a NEW cache directory starts: for
 * `uid=`/`gid=`/`mode=` the Dockerfile frontend makes a scratch `mkdir
 * /cache` with that owner and mode; with `from=` it is that stage's
 * directory. Reading the layers directly (topmost first, honouring
 * whiteouts and opaque directories) avoids mounting the input for what is
 * one stat.
 */
export async function inputDirAttributes (layerDirs: readonly string[], selector: string): Promise<CacheDirAttributes | undefined> {
  const parts = posix.normalize(posix.join('/', selector)).split('/').filter((p) => p !== '')
  for (let i = layerDirs.length - 1; i >= 0; i--) {
    const layer = layerDirs[i]!
    const st = await lstatOrUndefined(join(layer, ...parts))
    if (st !== undefined) return st.isDirectory() ? { uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 } : undefined
    // Absent here: a whiteout, a non-directory or an opaque directory on the way hides the lower layers.
    for (let depth = 1; depth < parts.length; depth++) {
      const ancestor = join(layer, ...parts.slice(0, depth))
      const a = await lstatOrUndefined(ancestor)
      if (a === undefined) break
      if (!a.isDirectory()) return undefined
      if (await isOpaque(ancestor)) return undefined
    }
  }
  return undefined
}

async function lstatOrUndefined (p: string): Promise<Stats | undefined> {
  try {
    return await lstat(p)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined
    throw err
  }
}

async function isOpaque (dir: string): Promise<boolean> {
  try {
    const { stdout } = await exec('getfattr', ['-h', '--only-values', '-n', 'trusted.overlay.opaque', '--', dir])
    return stdout === 'y'
  } catch {
    return false
  }
}
