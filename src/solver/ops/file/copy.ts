import { chmod, copyFile, lchown, lstat, lutimes, mkdir, readdir, readlink, rm, stat, symlink, link, utimes, constants } from 'node:fs/promises'
import type { Stats } from 'node:fs'
import { basename, join, posix } from 'node:path'
import { TsbuildError } from '../../../common/errors.js'
import { resolveInRoot } from '../../../common/pathInRoot.js'
import { OVERLAY_XATTR, readXattrTree, type XattrTable } from '../../../common/xattrs.js'
import { devMajor, devMinor, makeNode, setXattr } from '../../../cache/snapshots/index.js'
import { applyMode, type ModeSpec } from './mode.js'
import { hasGlobChars } from '../../context/index.js'
import { resolveSources, type SourceMatch } from './resolveSources.js'
import { isArchive, unpackArchive } from './unpack.js'

export interface Owner { uid: number; gid: number }

export interface CopyAction {
  src: string
  /** Absolute destination inside the target root; a trailing `/` means "a directory". */
  dest: string
  followSymlinks: boolean
  dirCopyContents: boolean
  createDestPath: boolean
  allowWildcard: boolean
  allowEmptyWildcard: boolean
  /** --chown; when absent, `defaultOwner` (local context: 0:0) or the source's own ids. */
  owner?: Owner
  mode?: ModeSpec
  /** --parents: keep the source's directories (after a `/./` pivot, if any) under dest. */
  parents?: boolean
  /** ADD of a local archive: extract it instead of copying. */
  attemptUnpack?: boolean
  /** Paths (relative to the copied source) to leave out, e.g. from --exclude. */
  exclude?: (relPath: string, isDir: boolean) => boolean
  /**
   * Only what these patterns select (relative to the copied source, `**`
   * allowed; `COPY --parents`), with the directories leading to it. A
   * pattern without wildcards must find its path.
   */
  include?: IncludeFilter
}

/** The include side of a pattern matcher: per-pattern results are handed down to children. */
export interface IncludeFilter {
  readonly sources: readonly string[]
  match (path: string, parent?: readonly boolean[]): { isMatch: boolean; matches: readonly boolean[] }
  mayMatchAtOrBelow (dir: string): boolean
}

export interface CopyEnv {
  srcRoot: string
  destRoot: string
  /** Owner of what is created without --chown: destination directories, and the copies unless keepSourceOwner. */
  defaultOwner?: Owner
  /**
   * Copies keep their source's uid/gid unless --chown: a copy from a stage or
   * an image, as in Docker and BuildKit (only the build context's files start
   * as 0:0, since the client's ids mean nothing in the image).
   */
  keepSourceOwner?: boolean
}

/**
 * COPY/ADD with BuildKit's semantics (fsutil copy): wildcards, directory
 * contents, trailing-slash destinations, destination creation, chown/chmod.
 * Every destination path is resolved inside `destRoot`; an existing symlink
 * is replaced, never written through, so nothing lands outside the root.
 */
export async function copyAction (env: CopyEnv, a: CopyAction): Promise<void> {
  const { srcRoot, destRoot } = env
  const pivot = a.parents ? a.src.indexOf('/./') : -1
  const matches = await resolveSources(srcRoot, a.src, { allowWildcard: a.allowWildcard, followSymlinks: a.followSymlinks })
  if (matches.length === 0) {
    if (a.allowEmptyWildcard) return
    throw new TsbuildError('NOT_FOUND', `no source files were specified or matched by ${JSON.stringify(a.src)}`)
  }
  const destWantsDir = a.dest.endsWith('/') || matches.length > 1 || a.parents === true
  let destHost = await resolveInRoot(destRoot, a.dest)
  const destStat = await lstat(destHost).catch(() => undefined)
  const destIsDir = destStat?.isDirectory() ?? false
  if (destWantsDir || destIsDir) await mkdirInRoot(destRoot, a.dest, a.owner ?? env.defaultOwner, a.createDestPath)
  else if (a.createDestPath) await mkdirInRoot(destRoot, posix.dirname(a.dest), a.owner ?? env.defaultOwner, true)
  destHost = await resolveInRoot(destRoot, a.dest)

  if (a.include !== undefined) {
    for (const pattern of a.include.sources) {
      if (hasGlobChars(pattern)) continue
      for (const m of matches) {
        const host = await resolveInRoot(m.hostPath, pattern, { followFinal: false })
        if (await lstat(host).catch(() => undefined) === undefined) throw new TsbuildError('NOT_FOUND', `"${posix.join('/', m.relPath, pattern)}": not found`)
      }
    }
  }
  for (const m of matches) {
    const st = await lstat(m.hostPath)
    if (a.attemptUnpack && st.isFile() && await isArchive(m.hostPath)) {
      await mkdirInRoot(destRoot, a.dest, a.owner ?? env.defaultOwner, true)
      await unpackArchive(m.hostPath, destRoot, a.dest, a.owner)
      continue
    }
    let target: string
    if (a.parents) {
      const rel = pivot !== -1 ? relAfterPivot(a.src, m.relPath) : m.relPath
      await mkdirInRoot(destRoot, posix.join(a.dest, posix.dirname(rel)), a.owner ?? env.defaultOwner, true)
      target = await resolveInRoot(destRoot, posix.join(a.dest, rel), { followFinal: false })
    } else if (st.isDirectory() && a.dirCopyContents) {
      target = destHost
    } else if (destWantsDir || destIsDir) {
      target = await resolveInRoot(destRoot, posix.join(a.dest, sourceName(m)), { followFinal: false })
    } else {
      target = await resolveInRoot(destRoot, a.dest, { followFinal: false })
    }
    const owner = a.owner ?? (env.keepSourceOwner === true ? undefined : env.defaultOwner)
    // A stage's or an image's files keep their extended attributes (file capabilities above all), as in BuildKit.
    const xattrs = env.keepSourceOwner === true ? await sourceXattrs(m.hostPath) : undefined
    const copied = xattrs !== undefined ? new Map<string, string>() : undefined
    // Device nodes and FIFOs come along from a stage or an image, as in BuildKit (the build context has none: its scan skips them).
    const specialFiles = env.keepSourceOwner === true
    await copyTree(m.hostPath, target, '', st, { ...a, destRoot, specialFiles, ...(owner !== undefined ? { owner } : {}), ...(copied !== undefined ? { copied } : {}), links: new Map(), slots: new Slots(FILE_CONCURRENCY) })
    if (xattrs !== undefined) await restoreXattrs(xattrs, copied!)
  }
}

/** The attributes worth copying under `src` (overlay's own and SELinux labels stay behind); undefined when there are none. */
async function sourceXattrs (src: string): Promise<XattrTable | undefined> {
  const table = await readXattrTree(src)
  for (const [path, attrs] of table) {
    for (const name of attrs.keys()) if (OVERLAY_XATTR.test(name) || name === 'security.selinux') attrs.delete(name)
    if (attrs.size === 0) table.delete(path)
  }
  return table.size > 0 ? table : undefined
}

/** Set each copied entry's attributes on its copy; runs after chown, which clears security.capability. */
async function restoreXattrs (table: XattrTable, copied: ReadonlyMap<string, string>): Promise<void> {
  for (const [rel, attrs] of table) {
    const host = copied.get(rel)
    if (host === undefined) continue // excluded, or a kind COPY skips
    for (const [name, value] of attrs) await setXattr(host, name, value)
  }
}

interface TreeCtx extends CopyAction {
  destRoot: string
  /** First destination path of each multiply-linked source inode, so its other names become hard links. */
  links: Map<string, Promise<string>>
  /** Copy device nodes and FIFOs too (sockets never). */
  specialFiles?: boolean
  /** When set, collects every entry copied: its path relative to the copy's source → where it landed on the host (inside the root). */
  copied?: Map<string, string>
  slots: Slots
}

// Files are copied a few at a time (the libuv pool runs four fs calls at
// once); one after another, a 30,000-file COPY spent most of its time waiting.
const FILE_CONCURRENCY = 16

/** A counting semaphore for leaf copies; directories never hold a slot, so recursion cannot deadlock. */
class Slots {
  private free: number
  private readonly waiting: Array<() => void> = []
  constructor (n: number) { this.free = n }
  async run<T> (fn: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--
    else await new Promise<void>((resolve) => this.waiting.push(resolve))
    try {
      return await fn()
    } finally {
      const next = this.waiting.shift()
      if (next !== undefined) next()
      else this.free++
    }
  }
}

/**
 * Entries of one directory in flight at once. Starting every entry at once
 * held a promise and a waiter per file until its turn: 200,000 files took
 * 2 GB. The leaf copies are bounded by {@link Slots} anyway.
 */
const DIR_FANOUT = 16

/**
 * `fn` over `items`, at most DIR_FANOUT at a time, each outcome in order.
 * Every item settles before a failure is passed on: nothing may still write
 * once the caller unmounts.
 */
async function settleEach<T, R> (items: readonly T[], fn: (item: T) => Promise<R>): Promise<Array<PromiseSettledResult<R>>> {
  const outcomes = new Array<PromiseSettledResult<R>>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      try {
        outcomes[i] = { status: 'fulfilled', value: await fn(items[i]!) }
      } catch (reason) {
        outcomes[i] = { status: 'rejected', reason }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(DIR_FANOUT, items.length) }, worker))
  return outcomes
}

const processIds = { uid: process.geteuid?.() ?? -1, gid: process.getegid?.() ?? -1 }

/**
 * Copy `src` (already lstat'ed as `st`) to `dst`. `isFresh` says `dst` lies in
 * a directory this copy just created, so nothing can be in the way; new
 * entries already carry this process's ids and (copyFile) the source's mode,
 * so chown/chmod run only when they would change something.
 */
async function copyTree (src: string, dst: string, rel: string, st: Stats, c: TreeCtx, isFresh = false, parentInc: readonly boolean[] = []): Promise<boolean> {
  if (rel !== '' && c.exclude?.(rel, st.isDirectory())) return false
  // With include patterns, an entry they do not select is left out, except a
  // directory on the way to one they do (kept only if something below it is).
  let inc = parentInc
  let isSelected = true
  if (c.include !== undefined && rel !== '') {
    const r = c.include.match(rel, parentInc)
    inc = r.matches
    isSelected = r.isMatch
    if (!isSelected && (!st.isDirectory() || !c.include.mayMatchAtOrBelow(rel))) return false
  }
  const uid = c.owner?.uid ?? st.uid
  const gid = c.owner?.gid ?? st.gid
  const mode = c.mode ? applyMode(c.mode, st.mode, st.isDirectory()) : st.mode & 0o7777
  if (st.isDirectory()) {
    let dir = dst
    let created = false
    if (isFresh) {
      await mkdir(dir)
      created = true
    } else {
      const existing = await lstat(dst).catch(() => undefined)
      if (existing?.isSymbolicLink()) dir = await resolveInRoot(c.destRoot, '/' + posix.relative(c.destRoot, dst))
      if (existing !== undefined && !existing.isDirectory() && !existing.isSymbolicLink()) await rm(dst, { force: true })
      const dirStat = await stat(dir).catch(() => undefined)
      if (dirStat === undefined || !dirStat.isDirectory()) created = await mkdirOnce(dir)
    }
    const names = (await readdir(src)).sort()
    const outcomes = await settleEach(names, async (name) => {
      const childSrc = join(src, name)
      return copyTree(childSrc, join(dir, name), rel === '' ? name : `${rel}/${name}`, await lstat(childSrc), c, created, inc)
    })
    const failed = outcomes.find((o) => o.status === 'rejected')
    if (failed !== undefined) throw failed.reason
    if (!isSelected && created && !outcomes.some((o) => o.status === 'fulfilled' && o.value)) {
      await rm(dir, { recursive: true, force: true })
      return false
    }
    await lchown(dir, uid, gid)
    await chmod(dir, mode)
    await utimes(dir, st.atime, st.mtime)
    c.copied?.set(rel, dir)
    return true
  }
  const isSpecial = st.isFIFO() || st.isCharacterDevice() || st.isBlockDevice()
  if (!st.isSymbolicLink() && !st.isFile() && !(isSpecial && c.specialFiles === true)) return false
  await c.slots.run(async () => {
    if (!isFresh) await removeNonDir(dst)
    if (isSpecial) {
      await makeNode(dst, st.isFIFO() ? 'p' : st.isCharacterDevice() ? 'c' : 'b', devMajor(st.rdev), devMinor(st.rdev))
    } else if (st.isSymbolicLink()) {
      await symlink(await readlink(src), dst)
    } else {
      const inode = `${st.dev}:${st.ino}`
      const first = st.nlink > 1 ? c.links.get(inode) : undefined
      if (first !== undefined) { await link(await first, dst); return }
      const copied = copyFile(src, dst, constants.COPYFILE_FICLONE).then(() => dst)
      if (st.nlink > 1) c.links.set(inode, copied)
      await copied
    }
    const chowned = uid !== processIds.uid || gid !== processIds.gid
    if (chowned) await lchown(dst, uid, gid)
    // chown clears setuid/setgid, so the mode is set again after one.
    // mknod applies the umask, so a node always gets its mode set.
    if (!st.isSymbolicLink() && (chowned || isSpecial || mode !== (st.mode & 0o7777))) await chmod(dst, mode)
    await lutimes(dst, st.atime, st.mtime)
  })
  c.copied?.set(rel, dst)
  return true
}

/**
 * mkdir that tolerates a sibling having just made the same directory: two
 * symlinks to one missing directory are copied into at the same time.
 * Whether this call created it.
 */
async function mkdirOnce (dir: string): Promise<boolean> {
  try {
    await mkdir(dir)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST' && (await stat(dir).catch(() => undefined))?.isDirectory() === true) return false
    throw err
  }
}

async function removeNonDir (p: string): Promise<void> {
  const st = await lstat(p).catch(() => undefined)
  if (st === undefined) return
  await rm(p, { recursive: st.isDirectory(), force: true })
}

/** mkdir -p inside the root; directories it creates get `owner` (BuildKit chowns created parents too). */
export async function mkdirInRoot (root: string, path: string, owner: Owner | undefined, makeParents: boolean, mode = 0o755): Promise<void> {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.')
  let cur = '/'
  for (let i = 0; i < parts.length; i++) {
    cur = posix.join(cur, parts[i]!)
    const host = await resolveInRoot(root, cur)
    const st = await stat(host).catch(() => undefined)
    if (st?.isDirectory()) continue
    if (st !== undefined) throw new TsbuildError('IO', `cannot create directory ${cur}: a file is in the way`)
    if (!makeParents && i < parts.length - 1) throw new TsbuildError('NOT_FOUND', `cannot create ${path}: ${cur} does not exist`)
    // `cur` may be a symlink whose in-root target's parents are missing too; they are made
    // inside the root (resolveInRoot already resolved every existing link), as BuildKit's MkdirAll does.
    await mkdir(host, { mode, recursive: true })
    await chmod(host, mode)
    if (owner !== undefined) await lchown(host, owner.uid, owner.gid)
  }
}

/**
 * The name a copied entry gets in a destination directory: the last component
 * of the source as written (after wildcard expansion), never that of the file
 * a followed symlink points to — `COPY lib/libfoo.so /out/` gives
 * /out/libfoo.so even when it links to libfoo.so.1.2 (BuildKit does the same).
 */
function sourceName (m: SourceMatch): string {
  const name = posix.basename(m.relPath)
  return name === '' || name === '.' || name === '..' ? basename(m.hostPath) : name
}

function relAfterPivot (src: string, relPath: string): string {
  // `a/./b/c` keeps `b/c`: drop as many leading components as the pivot prefix has.
  const prefix = src.slice(0, src.indexOf('/./')).split('/').filter((p) => p !== '' && p !== '.')
  return relPath.split('/').slice(prefix.length).join('/') || basename(relPath)
}

