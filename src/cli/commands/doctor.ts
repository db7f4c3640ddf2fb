import { execFile } from 'node:child_process'
import { access, mkdtemp, readFile, rm, statfs, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { detectSnapshotter, resolveStateDir } from '../../cache/index.js'
import { describeFsError, ensureDir, isFsError } from '../../common/ensureDir.js'
import { TsbuildError } from '../../common/errors.js'
import { formatPlatform, hostPlatform, normalizePlatform, parsePlatform, platformEquals, type Platform } from '../../common/platform.js'
import { listRunnablePlatforms } from '../../solver/executor/index.js'
import type { CommandIo } from '../io.js'

const USAGE = 'usage: tsbuild doctor [--format text|json]'

/**
 * `fail` means a build cannot work (doctor exits 1); `warn` means something
 * optional is missing or slower than it could be (doctor still exits 0).
 */
export type CheckStatus = 'ok' | 'warn' | 'fail'

export interface DoctorCheck {
  name: 'runc' | 'user' | 'state-dir' | 'snapshotter' | 'platforms' | 'git' | 'skopeo'
  status: CheckStatus
  detail: string
  /** What to run or install to fix it. */
  hint?: string
}

export interface DoctorReport {
  ok: boolean
  stateDir: string
  runnablePlatforms: string[]
  missingPlatforms: string[]
  checks: DoctorCheck[]
}

/** Foreign platforms worth running through qemu; the host's own always runs. */
const WELL_KNOWN_PLATFORMS: readonly Platform[] = ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/386', 'linux/ppc64le', 'linux/s390x', 'linux/riscv64']
  .map((p) => normalizePlatform(parsePlatform(p)))

const LOW_FREE_SPACE = 2 * 1024 ** 3
const BINFMT_STATUS = '/proc/sys/fs/binfmt_misc/status'

/** `tsbuild doctor`: whether this host has what builds need. Exit 0 when nothing fails, 1 otherwise. */
export async function run (args: string[], io: CommandIo): Promise<number> {
  let format = 'text'
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!
    if (a === '-h' || a === '--help') { io.stdout.write(USAGE + '\n'); return 0 }
    if (a === '--format' || a.startsWith('--format=')) {
      format = a.includes('=') ? a.slice(a.indexOf('=') + 1) : (args[++i] ?? '')
      if (format !== 'text' && format !== 'json') throw new TsbuildError('USAGE', `--format must be text or json, not ${JSON.stringify(format)}`)
      continue
    }
    throw new TsbuildError('USAGE', `unexpected argument ${JSON.stringify(a)}`, { hint: USAGE })
  }
  const report = await collectDoctorReport({ env: io.env })
  io.stdout.write(format === 'json' ? JSON.stringify(report, null, 2) + '\n' : formatDoctorReport(report))
  return report.ok ? 0 : 1
}

/** Run every check; tools are looked up on `env.PATH`, the state dir comes from `env` as for any command. */
export async function collectDoctorReport (opts: { env: NodeJS.ProcessEnv }): Promise<DoctorReport> {
  const stateDir = resolveStateDir(opts.env)
  const stateCheck = await checkStateDir(stateDir)
  const [runc, git, skopeo, snapshotter, platforms] = await Promise.all([
    checkTool(opts.env, 'runc', ['--version'], { required: true, purpose: 'runs every RUN step', install: 'apt-get install runc' }),
    checkTool(opts.env, 'git', ['--version'], { required: false, purpose: 'needed for ADD of git URLs and git build contexts', install: 'apt-get install git' }),
    checkTool(opts.env, 'skopeo', ['--version'], { required: false, purpose: 'optional: copies images out of the state dir (oci:<state dir>:NAME)', install: 'apt-get install skopeo' }),
    stateCheck.status === 'fail' ? Promise.resolve(undefined) : checkSnapshotter(stateDir),
    checkPlatforms(),
  ])
  const checks: DoctorCheck[] = [runc, checkUser(), stateCheck]
  if (snapshotter !== undefined) checks.push(snapshotter)
  checks.push(platforms.check, git, skopeo)
  return {
    ok: checks.every((c) => c.status !== 'fail'),
    stateDir,
    runnablePlatforms: platforms.runnable,
    missingPlatforms: platforms.missing,
    checks,
  }
}

export function formatDoctorReport (report: DoctorReport): string {
  const mark: Record<CheckStatus, string> = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' }
  const width = Math.max(...report.checks.map((c) => c.name.length))
  let out = ''
  for (const c of report.checks) {
    out += `${mark[c.status]}  ${c.name.padEnd(width)}  ${c.detail}\n`
    if (c.hint !== undefined) out += `      ${' '.repeat(width)}  → ${c.hint}\n`
  }
  out += report.ok ? '\ntsbuild can build on this host.\n' : '\ntsbuild cannot build on this host until the FAIL lines are fixed.\n'
  return out
}

async function checkTool (env: NodeJS.ProcessEnv, name: 'runc' | 'git' | 'skopeo', args: string[],
  opts: { required: boolean; purpose: string; install: string }): Promise<DoctorCheck> {
  try {
    const out = await execText(name, args, env)
    const firstLine = out.split('\n')[0]!.trim()
    return { name, status: 'ok', detail: firstLine === '' ? 'present' : firstLine }
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? `${name} not found on PATH` : `${name} ${args.join(' ')} failed: ${(err as Error).message.split('\n')[0]}`
    return { name, status: opts.required ? 'fail' : 'warn', detail: `${why} (${opts.purpose})`, hint: opts.install }
  }
}

function checkUser (): DoctorCheck {
  const uid = process.getuid?.()
  if (uid === 0) return { name: 'user', status: 'ok', detail: 'root' }
  // Rootless builds are not available yet: runc sandboxes and overlay mounts need root.
  return { name: 'user', status: 'warn', detail: `uid ${uid ?? '?'}: RUN steps, overlay mounts and binfmt registration need root`, hint: 'run tsbuild as root (rootless mode is not available yet)' }
}

async function checkStateDir (dir: string): Promise<DoctorCheck> {
  try {
    await ensureDir(dir)
    const probe = await mkdtemp(join(dir, '.doctor-'))
    try {
      await writeFile(join(probe, 'probe'), 'ok')
    } finally {
      await rm(probe, { recursive: true, force: true })
    }
  } catch (err) {
    // ensureDir's message already names the path and says why (a file in the way, permission denied …).
    const message = isFsError(err) ? describeFsError(err) : (err as Error).message
    const why = message.startsWith(`${resolve(dir)}: `) ? message.slice(resolve(dir).length + 2) : message
    const detail = why.startsWith('is a file') ? `${dir} ${why}` : `${dir} is not writable: ${why}`
    return { name: 'state-dir', status: 'fail', detail, hint: 'set TSBUILD_ROOT to a writable directory' }
  }
  const fs = await statfs(dir)
  const free = fs.bavail * fs.bsize
  const detail = `${dir} (writable, ${formatBytes(free)} free)`
  if (free < LOW_FREE_SPACE) return { name: 'state-dir', status: 'warn', detail, hint: 'free some space: tsbuild prune, or point TSBUILD_ROOT at a larger disk' }
  return { name: 'state-dir', status: 'ok', detail }
}

async function checkSnapshotter (stateDir: string): Promise<DoctorCheck> {
  const found = await detectSnapshotter(stateDir, { fresh: true })
  if (found.backend === 'overlay') return { name: 'snapshotter', status: 'ok', detail: 'overlay (overlayfs mounts under the state dir)' }
  return {
    name: 'snapshotter',
    status: 'warn',
    detail: `copy (slower: every step copies its parent layers) because ${found.reason ?? 'overlayfs is unavailable'}`,
    hint: 'run as root with the state dir on ext4 or xfs (not overlayfs, tmpfs without xattrs, or NFS); modprobe overlay',
  }
}

async function checkPlatforms (): Promise<{ check: DoctorCheck; runnable: string[]; missing: string[] }> {
  const mounted = await readFile(BINFMT_STATUS, 'utf8').then(() => true, () => false)
  const runnable = await listRunnablePlatforms()
  const missing = WELL_KNOWN_PLATFORMS.filter((p) => !runnable.some((r) => platformEquals(r, p)) && !platformEquals(p, hostPlatform()))
  const runnableNames = runnable.map(formatPlatform)
  const missingNames = missing.map(formatPlatform)
  const detail = `can run ${runnableNames.join(', ')}` + (missingNames.length > 0 ? `; cannot run ${missingNames.join(', ')}` : '')
  if (missing.length === 0) return { check: { name: 'platforms', status: 'ok', detail }, runnable: runnableNames, missing: missingNames }
  const hasQemu = await access('/usr/bin/qemu-aarch64-static').then(() => true, () => false)
  const hint = !mounted
    ? 'mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc' + (hasQemu ? ', then register the qemu handlers (scripts/setup.sh does both)' : ', then apt-get install qemu-user-static')
    : hasQemu
      ? 'qemu-user-static is installed: register a handler with cat /usr/lib/binfmt.d/qemu-ARCH.conf > /proc/sys/fs/binfmt_misc/register'
      : 'apt-get install qemu-user-static (registers binfmt_misc handlers for foreign architectures)'
  // Missing foreign platforms only matter for builds that RUN on them, so this is a warning.
  return { check: { name: 'platforms', status: 'warn', detail, hint }, runnable: runnableNames, missing: missingNames }
}

async function execText (cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return await new Promise((resolve, reject) => {
    execFile(cmd, args, { env, timeout: 10_000 }, (err, stdout) => { if (err !== null) reject(err); else resolve(stdout) })
  })
}

function formatBytes (n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let u = 0
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++ }
  return `${v.toFixed(u === 0 ? 0 : 1)} ${units[u]}`
}
