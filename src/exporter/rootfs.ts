import { execFile } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { chmod, lchown, link, lstat, lutimes, mkdir, readdir, rm, symlink } from 'node:fs/promises'
import { join, posix } from 'node:path'
import { ensureDir } from '../common/ensureDir.js'
import { pipeline } from 'node:stream/promises'
import { promisify } from 'node:util'
import type { ContentProvider } from '../cache/content/index.js'
import { resolveInRoot } from '../common/pathInRoot.js'
import { createTarExtract, paxXattrs } from '../common/tarExtract.js'
import { setXattr } from '../cache/snapshots/index.js'
import { TsbuildError } from '../common/errors.js'
import type { Descriptor, ImageManifest } from '../common/oci.js'
import { openUncompressed } from './layer.js'
import { OPAQUE_WHITEOUT, WHITEOUT_PREFIX } from './layerTar.js'

const run = promisify(execFile)

/** Unpack an image's layers, lowest first, into `root`, honouring OCI whiteouts. */
export async function unpackImage (store: ContentProvider, manifestDesc: Descriptor, root: string, opts: UnpackOptions = {}): Promise<void> {
  const manifest = JSON.parse((await store.readBytes(manifestDesc.digest)).toString()) as ImageManifest
  await ensureDir(root)
  for (const layer of manifest.layers) await applyLayer(store, layer, root, opts)
}

export interface UnpackOptions {
  /**
   * Keep device nodes' modes as the image has them. Only for a root nobody
   * else can reach (the private staging dir of a tar export): elsewhere a
   * node is made owner-only, see applyLayer.
   */
  exactDeviceModes?: boolean
}

/**
 * Apply one layer blob on top of `root`. Every path from the tar is resolved
 * inside the root (symlinks followed within it, `..` clamped), so a hostile
 * layer cannot write elsewhere. An opaque marker hides what lower layers put
 * in its directory but keeps what this layer adds, whatever the entry order.
 * Extended attributes (file capabilities among them) are restored where the
 * destination's filesystem takes them. Directory times are set last: writing
 * or removing an entry moves its directory's mtime, so a directory keeps the
 * time this layer gives it (or, when the layer only writes into it, the one
 * it had), as in the image's filesystem.
 */
export async function applyLayer (store: ContentProvider, layer: Descriptor, root: string, opts: UnpackOptions = {}): Promise<void> {
  const addedHere = new Set<string>()
  /** Host directory → the mtime it ends with: its entry's in this layer, else what it had before this layer changed it. */
  const dirTimes = new Map<string, Date>()
  const keepTime = async (hostDir: string): Promise<void> => {
    if (dirTimes.has(hostDir)) return
    const st = await lstat(hostDir).catch(() => undefined)
    if (st?.isDirectory() === true) dirTimes.set(hostDir, st.mtime)
  }
  const ex = createTarExtract()
  const source = openUncompressed(store, layer)
  source.on('error', (err) => ex.destroy(err))
  source.pipe(ex)
  for await (const entry of ex) {
    const h = entry.header
    const name = posix.normalize(`/${h.name}`).replace(/\/+$/, '')
    const parent = posix.dirname(name)
    const base = posix.basename(name)
    if (name === '/') { entry.resume(); continue }
    const hostParent = await resolveInRoot(root, parent)
    await keepTime(hostParent)
    if (base === OPAQUE_WHITEOUT) {
      await pruneExcept(hostParent, parent, addedHere, keepTime)
      entry.resume()
      continue
    }
    if (base.startsWith(WHITEOUT_PREFIX)) {
      await rm(await resolveInRoot(root, posix.join(parent, base.slice(WHITEOUT_PREFIX.length)), { followFinal: false }), { recursive: true, force: true })
      entry.resume()
      continue
    }
    addedHere.add(name)
    const host = await resolveInRoot(root, name, { followFinal: false })
    await mkdir(hostParent, { recursive: true })
    const existing = await lstat(host).catch(() => undefined)
    if (existing !== undefined && !(existing.isDirectory() && h.type === 'directory')) await rm(host, { recursive: true, force: true })
    const mode = (h.mode ?? 0o644) & 0o7777
    switch (h.type) {
      case 'directory':
        if (existing === undefined || !existing.isDirectory()) await mkdir(host)
        break
      case 'file':
      case 'contiguous-file':
        await pipeline(entry, createWriteStream(host, { mode }))
        break
      case 'symlink':
        await symlink(h.linkname ?? '', host)
        break
      case 'link':
        await link(await resolveInRoot(root, h.linkname ?? '', { followFinal: false }), host)
        break
      case 'character-device':
      case 'block-device':
        await run('mknod', [host, h.type === 'block-device' ? 'b' : 'c', String(h.devmajor ?? 0), String(h.devminor ?? 0)])
        break
      case 'fifo':
        await run('mkfifo', [host])
        break
      default:
        throw new TsbuildError('UNSUPPORTED_MEDIA_TYPE', `layer ${layer.digest}: entry ${h.name} has unsupported type ${h.type}`)
    }
    entry.resume()
    if (h.type === 'link') continue // a hard link shares the target's inode and metadata
    await lchown(host, h.uid ?? 0, h.gid ?? 0)
    // A device node lands on the host: nobody but its owner may open it
    // (an image could otherwise hand every local user the host's raw disk).
    const isDevice = h.type === 'character-device' || h.type === 'block-device'
    if (h.type !== 'symlink') await chmod(host, isDevice && opts.exactDeviceModes !== true ? mode & ~0o077 : mode)
    // After chown, which clears security.capability.
    for (const [name, value] of paxXattrs(h)) await setXattr(host, name, value).catch(ignoreUnsupported)
    const mtime = h.mtime ?? new Date(0)
    if (h.type === 'directory') dirTimes.set(host, mtime)
    else await lutimes(host, mtime, mtime)
  }
  for (const [dir, mtime] of dirTimes) await lutimes(dir, mtime, mtime).catch(ignoreGone)
}

/** A directory whose time was kept may be gone by the end of the layer (a later whiteout removed it). */
function ignoreGone (err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
}

/** A destination without xattr support (some tmpfs, network filesystems) still gets the files, as with `cp -a`. */
function ignoreUnsupported (err: unknown): void {
  if (!/not supported/i.test(String((err as Error).message))) throw err
}

/** Remove what lower layers left under `dir`; a directory this layer re-created keeps only what this layer put in it. */
async function pruneExcept (hostDir: string, dir: string, keep: ReadonlySet<string>, keepTime: (hostDir: string) => Promise<void>): Promise<void> {
  const names = await readdir(hostDir).catch(() => [] as string[])
  for (const n of names) {
    const rel = posix.join(dir, n)
    const host = join(hostDir, n)
    if (!keep.has(rel)) {
      await rm(host, { recursive: true, force: true })
    } else if ((await lstat(host)).isDirectory()) {
      await keepTime(host)
      await pruneExcept(host, rel, keep, keepTime)
    }
  }
}
