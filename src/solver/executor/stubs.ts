import { lstat, lutimes, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { cleanRelative } from '../../cache/snapshots/index.js'
import { runTool } from '../../common/helperShell.js'

/**
 * Mount points that did not exist in the rootfs are created by runc; they are
 * noise in the step's diff. Record the first missing component of each one
 * before the run and remove it afterwards (when runc left it empty), putting
 * back the parent's mtime, like BuildKit's MountStubsCleaner.
 */
export interface MountStub { path: string; parent: string; parentMtimeNs: bigint; parentAtimeNs: bigint }

export async function findMountStubs (rootfs: string, destinations: readonly string[]): Promise<MountStub[]> {
  const stubs: MountStub[] = []
  for (const dest of destinations) {
    const parts = cleanRelative(dest).split('/').filter((p) => p !== '')
    let current = rootfs
    for (const part of parts) {
      const next = join(current, part)
      const st = await lstat(next).catch(() => undefined)
      if (st === undefined) {
        const parentStat = await lstat(current, { bigint: true })
        if (!stubs.some((s) => s.path === next)) stubs.push({ path: next, parent: current, parentMtimeNs: parentStat.mtimeNs, parentAtimeNs: parentStat.atimeNs })
        break
      }
      if (!st.isDirectory()) break // a link or file: runc resolves it inside the rootfs; nothing to record
      current = next
    }
  }
  return stubs
}

export async function removeMountStubs (stubs: readonly MountStub[]): Promise<void> {
  // Every stub goes first, then each parent's times are put back once:
  // several stubs share a parent (/proc, /dev and /sys all sit in `/`), and
  // setting a directory's times changes no other directory's.
  const parents = new Map<string, MountStub>()
  for (const stub of [...stubs].sort((a, b) => b.path.length - a.path.length)) {
    const st = await lstat(stub.path).catch(() => undefined)
    if (st === undefined) continue
    if (st.isDirectory()) {
      if (!(await isEmptyTree(stub.path))) continue
      await rm(stub.path, { recursive: true })
    } else if (st.isFile() && st.size === 0) {
      await rm(stub.path)
    } else continue
    if (!parents.has(stub.parent)) parents.set(stub.parent, stub)
  }
  for (const stub of parents.values()) await restoreTimes(stub.parent, stub.parentAtimeNs, stub.parentMtimeNs).catch(() => undefined)
}

// runc creates nested mount points (/dev/pts inside a new /dev); those count as empty.
async function isEmptyTree (dir: string): Promise<boolean> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (!e.isDirectory() && !(e.isFile() && (await lstat(join(dir, e.name))).size === 0)) return false
    if (e.isDirectory() && !(await isEmptyTree(join(dir, e.name)))) return false
  }
  return true
}

/**
 * Node's utimes rounds to microseconds, which is fine for the atime; the
 * differ compares mtimes to the nanosecond, so `touch` then sets that exactly.
 */
async function restoreTimes (path: string, atimeNs: bigint, mtimeNs: bigint): Promise<void> {
  const seconds = (ns: bigint): number => Number(ns / 1000n) / 1e6
  await lutimes(path, seconds(atimeNs), seconds(mtimeNs))
  const stamp = `@${mtimeNs / 1_000_000_000n}.${(mtimeNs % 1_000_000_000n).toString().padStart(9, '0')}`
  await runTool('touch', ['-h', '-m', '-d', stamp, '--', path])
}
