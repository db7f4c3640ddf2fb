import type { BigIntStats } from 'node:fs'
import { chmod, lchown, lstat, lutimes, mkdir, readdir, readlink, rmdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { listOpaqueDirs, makeWhiteout, runTool } from './fsext.js'

/**
 * Write into `out` the overlay-format diff that turns `base` into `current`:
 * new and changed entries copied, deletions as whiteouts, directories whose
 * contents changed recreated with `current`'s metadata. Unchanged means equal
 * type, mode, owner, size, mtime (ns), device and link target, as BuildKit's
 * double-walking differ decides.
 */
export async function computeDiff (base: string, current: string, out: string): Promise<void> {
  const plan: DiffPlan = { copy: [], dirs: [], whiteouts: [] }
  await diffDir(base, current, '', plan)
  for (const rel of plan.dirs) await mkdir(join(out, rel), { recursive: true })
  for (let i = 0; i < plan.copy.length; i += 256) {
    await runTool('cp', ['-a', '--no-dereference', '--parents', '--', ...plan.copy.slice(i, i + 256), `${out}/`], { cwd: current })
  }
  for (const rel of plan.whiteouts) {
    await mkdir(join(out, dirname(rel)), { recursive: true })
    await makeWhiteout(join(out, rel))
  }
  await copyDirMetadata(current, out, '')
}

interface DiffPlan { copy: string[]; dirs: string[]; whiteouts: string[] }

async function diffDir (base: string, current: string, rel: string, plan: DiffPlan): Promise<boolean> {
  let changed = false
  const currentNames = new Set(await readdir(join(current, rel)))
  const baseNames = await readdir(join(base, rel)).catch(() => [] as string[])
  for (const name of baseNames) {
    if (!currentNames.has(name)) { plan.whiteouts.push(join(rel, name)); changed = true }
  }
  for (const name of [...currentNames].sort()) {
    const childRel = join(rel, name)
    const cur = await lstat(join(current, childRel), { bigint: true })
    const old = await lstat(join(base, childRel), { bigint: true }).catch(() => undefined)
    if (old === undefined || kindOf(old) !== kindOf(cur)) {
      plan.copy.push(childRel); changed = true
      continue
    }
    if (cur.isDirectory()) {
      const childChanged = await diffDir(base, current, childRel, plan)
      if (childChanged || !sameMetadata(old, cur)) { plan.dirs.push(childRel); changed = true }
      continue
    }
    if (!sameMetadata(old, cur) || (cur.isSymbolicLink() && await readlink(join(current, childRel)) !== await readlink(join(base, childRel)))) {
      plan.copy.push(childRel); changed = true
    }
  }
  return changed
}

function kindOf (st: BigIntStats): number {
  return Number(st.mode) & 0o170000
}

function sameMetadata (a: BigIntStats, b: BigIntStats): boolean {
  return a.mode === b.mode && a.uid === b.uid && a.gid === b.gid && a.rdev === b.rdev && a.mtimeNs === b.mtimeNs &&
    (a.isDirectory() || a.size === b.size)
}

// Post-order, so setting a child's times cannot disturb its parent's mtime afterwards.
async function copyDirMetadata (current: string, out: string, rel: string): Promise<void> {
  for (const entry of await readdir(join(out, rel), { withFileTypes: true })) {
    if (entry.isDirectory()) await copyDirMetadata(current, out, join(rel, entry.name))
  }
  const st = await lstat(join(current, rel)).catch(() => undefined)
  if (st === undefined || !st.isDirectory()) return
  const target = join(out, rel)
  await lchown(target, st.uid, st.gid)
  await chmod(target, st.mode & 0o7777)
  await lutimes(target, st.atime, st.mtime)
}

/**
 * Drop directories from an overlay upperdir that hold nothing and only exist
 * because overlay copied them up (same metadata as the merged lower dir),
 * so a step that created and removed a file leaves no trace in its diff.
 * `lowers` are top first.
 */
export async function pruneRedundantDirs (upper: string, lowers: readonly string[]): Promise<void> {
  // Read (with one getfattr run) only when an empty directory turns up: most steps leave none.
  let opaque: Promise<Set<string>> | undefined
  await pruneDir(upper, lowers, '', () => (opaque ??= listOpaqueDirs(upper)))
}

async function pruneDir (upper: string, lowers: readonly string[], rel: string, opaque: () => Promise<Set<string>>): Promise<boolean> {
  const entries = await readdir(join(upper, rel), { withFileTypes: true })
  let remaining = entries.length
  for (const e of entries) {
    if (e.isDirectory() && await pruneDir(upper, lowers, join(rel, e.name), opaque)) remaining--
  }
  if (rel === '' || remaining > 0 || (await opaque()).has(join(upper, rel))) return false
  const own = await lstat(join(upper, rel), { bigint: true })
  for (const lower of lowers) {
    const st = await lstat(join(lower, rel), { bigint: true }).catch(() => undefined)
    if (st === undefined) continue
    if ((st.isCharacterDevice() && st.rdev === 0n) || !st.isDirectory() || !sameMetadata(st, own)) return false
    await rmdir(join(upper, rel))
    return true
  }
  return false
}
