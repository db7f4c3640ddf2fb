import { readFile, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { unmountAll } from '../../cache/snapshots/index.js'
import { runCommand } from './command.js'
import { isProcessAlive } from '../../common/process.js'

/**
 * Sandbox ids and mount directory names carry the pid of the tsbuild process
 * that made them (`tsb-<pid>-<hex>`, `view-<pid>-…`), so a later process can
 * tell what a killed build left behind from what a live build still uses.
 */
export function ownerPid (name: string): number | undefined {
  const m = /^[a-z]+-(\d+)-/.exec(name)
  return m === null ? undefined : Number(m[1])
}


const isStale = (name: string): boolean => {
  const pid = ownerPid(name)
  return pid !== undefined && pid !== process.pid && !isProcessAlive(pid)
}

/** Host mount points at or under `dir`, deepest first. */
async function mountPointsUnder (dir: string): Promise<string[]> {
  const table = await readFile('/proc/self/mountinfo', 'utf8')
  const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))
  return table.split('\n').map((l) => unescape(l.split(' ')[4] ?? ''))
    .filter((m) => m === dir || m.startsWith(dir + '/'))
    .sort((a, b) => b.length - a.length)
}

/**
 * Unmount everything under `dir`, then remove it. The directory is removed
 * only when nothing is mounted there any more: removing a still-mounted
 * overlay would delete the snapshot it shows.
 */
async function unmountAndRemove (dir: string): Promise<boolean> {
  for (const m of await mountPointsUnder(dir)) await unmountAll(m).catch(() => undefined)
  if ((await mountPointsUnder(dir)).length > 0) return false
  await rm(dir, { recursive: true, force: true })
  return true
}

export interface SweepResult {
  containers: string[]
  dirs: string[]
}

/**
 * Clean up after tsbuild processes that died without releasing their work
 * (kill -9, a crash, a power cut): their runc containers are killed and
 * deleted, their sandbox bundles (`executor/`) and mounted views (`mnt/`)
 * unmounted and removed. Whatever belongs to a live process is left alone,
 * so it is safe while other builds use the same state dir. Snapshots the dead
 * build had prepared but not committed are unnamed; garbage collection
 * removes those.
 */
export async function sweepStaleSandboxes (stateDir: string, opts: { runc?: string } = {}): Promise<SweepResult> {
  const runc = opts.runc ?? 'runc'
  const runcRoot = join(stateDir, 'runc')
  const result: SweepResult = { containers: [], dirs: [] }
  // runc keeps one directory per container under its root; reading it saves
  // spawning `runc list` on every build when (as usual) nothing is stale.
  const listed = await readdir(runcRoot).catch(() => [] as string[])
  for (const id of listed.filter(isStale)) {
    await runCommand(runc, ['--root', runcRoot, 'kill', id, 'KILL']).catch(() => undefined)
    await runCommand(runc, ['--root', runcRoot, 'delete', '--force', id]).catch(() => undefined)
    result.containers.push(id)
  }
  for (const sub of ['executor', 'mnt']) {
    const parent = join(stateDir, sub)
    const names = await readdir(parent).catch(() => [] as string[])
    for (const name of names.filter(isStale)) {
      if (await unmountAndRemove(join(parent, name))) result.dirs.push(join(sub, name))
    }
  }
  return result
}
