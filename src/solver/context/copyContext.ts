import { constants, promises as fs } from 'node:fs'
import path from 'node:path'
import { TsbuildError } from '../../common/errors.js'
import { hashFile } from './hashFiles.js'
import { isRacyStat } from './statCache.js'
import type { ContextSnapshot, FileRecord } from './types.js'

const processIds = { uid: process.geteuid?.() ?? -1, gid: process.getegid?.() ?? -1 }

export interface CopyContextOptions {
  /** Owner for every copied entry. Default 0:0, as BuildKit gives local-source files. */
  uid?: number
  gid?: number
  /** Copy only records for which this returns true (their parents must be selected too). */
  filter?: (record: FileRecord) => boolean
  concurrency?: number
  signal?: AbortSignal
}

/**
 * Materialise a scanned context into `destDir` (created if missing): the
 * files with their permission bits and modification times, symlinks as
 * links, directories with their modes. Owners become `uid:gid` (default 0:0;
 * only applied when running as root). Files are cloned with a reflink when
 * the filesystem supports it and copied otherwise — never hard-linked, since
 * a later chmod/chown in the destination would then change the user's file.
 */
export async function copyContext (snapshot: ContextSnapshot, destDir: string, opts: CopyContextOptions = {}): Promise<{ files: number; bytes: number }> {
  const uid = opts.uid ?? 0
  const gid = opts.gid ?? 0
  const canChown = process.geteuid?.() === 0
  const selected = [...snapshot.records.values()].filter((r) => r.path !== '' && (opts.filter?.(r) ?? true))
  await fs.mkdir(destDir, { recursive: true })
  const dirs = selected.filter((r) => r.type === 'dir')
  const leaves = selected.filter((r) => r.type !== 'dir')

  for (const d of dirs) {
    const dst = path.join(destDir, d.path)
    await fs.mkdir(dst).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'EEXIST') throw err })
  }
  let bytes = 0
  let next = 0
  const runner = async (): Promise<void> => {
    while (next < leaves.length) {
      opts.signal?.throwIfAborted()
      const r = leaves[next++]!
      const src = path.join(snapshot.root, r.path)
      const dst = path.join(destDir, r.path)
      try {
        if (r.type === 'symlink') {
          await fs.symlink(r.linkTarget!, dst)
          if (canChown && (uid !== processIds.uid || gid !== processIds.gid)) await fs.lchown(dst, uid, gid)
          const st = await fs.lstat(src)
          await fs.lutimes(dst, st.atime, st.mtime)
        } else {
          const st = await fs.stat(src)
          await fs.copyFile(src, dst, constants.COPYFILE_FICLONE)
          // The new file has this process's ids and (copyFile) the source's mode: change only what differs.
          const chowned = canChown && (uid !== processIds.uid || gid !== processIds.gid)
          if (chowned) await fs.chown(dst, uid, gid)
          if (chowned || (st.mode & 0o7777) !== r.mode) await fs.chmod(dst, r.mode)
          await fs.utimes(dst, st.atime, st.mtime)
          if (r.seen !== undefined) await ensureUnchangedSinceScan(src, dst, r, snapshot.startedAt)
          bytes += r.size
        }
      } catch (err) {
        if (err instanceof TsbuildError) throw err
        throw new TsbuildError('IO', `cannot copy context path ${r.path} from ${snapshot.root} to ${destDir}: ${(err as Error).message}`, { cause: err })
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 16, leaves.length)) }, runner))

  // Directory modes and times last, deepest first: writing children changes a directory's mtime.
  for (const d of [...dirs].reverse()) {
    const dst = path.join(destDir, d.path)
    if (canChown) await fs.chown(dst, uid, gid)
    await fs.chmod(dst, d.mode)
    const st = await fs.stat(path.join(snapshot.root, d.path))
    await fs.utimes(dst, st.atime, st.mtime)
  }
  return { files: leaves.length, bytes }
}

/**
 * The steps reading this copy are keyed by the digest the scan took; a file
 * written since (an editor saving while an earlier step ran) would put other
 * bytes under that key, for every later build with the old content to reuse.
 * Checked after the copy, so an edit during it is seen too. An edit in the
 * same timestamp tick as the scan's stat leaves the stat as it was (the
 * stat cache's racy window), so a file changed that recently is checked by
 * its copy's bytes as well.
 */
async function ensureUnchangedSinceScan (src: string, dst: string, r: FileRecord, scanStartedAt: number | undefined): Promise<void> {
  const now = await fs.lstat(src)
  const seen = r.seen!
  const isSameStat = now.isFile() && now.size === seen.size && now.mtimeMs === seen.mtimeMs && now.ctimeMs === seen.ctimeMs && now.ino === seen.ino
  const isRacy = scanStartedAt === undefined || isRacyStat(seen.mtimeMs, seen.ctimeMs, scanStartedAt)
  if (isSameStat && (!isRacy || r.digest === undefined || await hashFile({ file: dst, size: r.size }) === r.digest)) return
  throw new TsbuildError('IO', `context file ${r.path} changed while the build was running (after tsbuild had read it)`, {
    hint: 'run the build again once the file is saved',
  })
}
