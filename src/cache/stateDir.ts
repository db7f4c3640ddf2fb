import { randomBytes } from 'node:crypto'
import { access, link, unlink, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { ensureDir, fsError, isFsError } from '../common/ensureDir.js'
import { MediaType } from '../common/oci.js'

/**
 * The state dir is itself an OCI image layout: `oci-layout`, `index.json`
 * (the tagged images) and `blobs/sha256/` (the content store), so standard
 * tools read it with `oci:<root>:<name>`. `tmp/` holds in-progress writes and
 * lives on the same filesystem, which keeps every commit a plain rename.
 */
export interface StateDir {
  readonly root: string
  readonly blobsDir: string
  readonly indexPath: string
  readonly tmpDir: string
  readonly locksDir: string
}

export const OCI_LAYOUT_VERSION = '1.0.0'

/** `$TSBUILD_ROOT`, else `/var/lib/tsbuild` for root, else the user's data dir. */
export function resolveStateDir (env: NodeJS.ProcessEnv, opts: { uid?: number; home?: string } = {}): string {
  const explicit = env['TSBUILD_ROOT']
  if (explicit !== undefined && explicit !== '') return explicit
  const uid = opts.uid ?? process.getuid?.() ?? -1
  if (uid === 0) return '/var/lib/tsbuild'
  const dataHome = env['XDG_DATA_HOME']
  if (dataHome !== undefined && dataHome !== '') return join(dataHome, 'tsbuild')
  return join(opts.home ?? env['HOME'] ?? homedir(), '.local', 'share', 'tsbuild')
}

export function stateDirPaths (root: string): StateDir {
  return {
    root,
    blobsDir: join(root, 'blobs', 'sha256'),
    indexPath: join(root, 'index.json'),
    tmpDir: join(root, 'tmp'),
    locksDir: join(root, 'locks'),
  }
}

/**
 * Create the layout if missing; safe to call from several processes at once.
 * Existing files are never rewritten, so a populated index.json survives.
 */
export async function openStateDir (root: string): Promise<StateDir> {
  const dir = stateDirPaths(root)
  // A populated state dir (every rebuild) needs no writes: check before creating.
  const present = await Promise.all([dir.blobsDir, dir.tmpDir, dir.locksDir, join(root, 'oci-layout'), dir.indexPath].map(async (p) => await access(p).then(() => true, () => false)))
  if (present.every((p) => p)) return dir
  // One component at a time: a recursive mkdir never ends under /proc, and a file in the way is named.
  for (const d of [root, dir.blobsDir, dir.tmpDir, dir.locksDir]) await ensureDir(d, STATE_DIR_PURPOSE)
  try {
    await createIfAbsent(dir, join(root, 'oci-layout'), JSON.stringify({ imageLayoutVersion: OCI_LAYOUT_VERSION }))
    await createIfAbsent(dir, dir.indexPath, JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] }))
  } catch (err) {
    throw isFsError(err) ? fsError(err, root, STATE_DIR_PURPOSE) : err
  }
  return dir
}

/** How errors about the state dir start, and what to do about them. */
export const STATE_DIR_PURPOSE = { what: 'state dir', hint: 'set TSBUILD_ROOT to a writable directory' }

// Write to a temp file, then link(2) it into place: the link fails when the
// target exists, so a concurrent opener never clobbers and a crash never
// leaves a half-written file under the real name.
async function createIfAbsent (dir: StateDir, path: string, content: string): Promise<void> {
  const tmp = join(dir.tmpDir, `init-${randomBytes(8).toString('hex')}`)
  await writeFile(tmp, content + '\n', { flag: 'wx' })
  try {
    await link(tmp, path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  } finally {
    await unlink(tmp)
  }
}
