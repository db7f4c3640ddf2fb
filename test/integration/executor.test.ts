import { execFileSync } from 'node:child_process'
import { lstatSync, readdirSync, readFileSync } from 'node:fs'
import { cp, mkdtemp, readdir, lstat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { beforeAll, describe, expect, test } from 'vitest'
import { Snapshotter, snapshotKey, snapshotName, type SnapshotName, type SnapshotterBackend } from '../../src/cache/snapshots/index.js'
import { hasCode } from '../../src/common/errors.js'
import { parsePlatform } from '../../src/common/platform.js'
import { ExecFailedError, RuncExecutor, canRunPlatform, resolveUser, type ExecRequest } from '../../src/solver/executor/index.js'
import { ensureBusyboxRootfs } from '../setup/busybox.js'

const isRoot = process.getuid?.() === 0
const cacheDir = resolve(import.meta.dirname, '../../.cache/fixtures')

interface Sandbox { stateDir: string; snapshotter: Snapshotter; executor: RuncExecutor; base: SnapshotName }

async function sandbox (backend: SnapshotterBackend, arch: 'amd64' | 'arm64' = 'amd64'): Promise<Sandbox> {
  const stateDir = await mkdtemp(join(tmpdir(), 'tsbuild-exec-'))
  const snapshotter = new Snapshotter(stateDir, backend)
  const rootfs = await ensureBusyboxRootfs(arch, cacheDir)
  const base = snapshotName(`busybox-${arch}`)
  await snapshotter.createCommitted(base, async (fsDir) => { await cp(rootfs, fsDir, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true }) })
  return { stateDir, snapshotter, executor: new RuncExecutor(stateDir), base }
}

/** Run `args` on a fresh snapshot of busybox and return the captured stdout. */
async function runIn (sb: Sandbox, key: string, args: string[], extra: Partial<ExecRequest> = {}): Promise<string> {
  const rootfs = await sb.snapshotter.prepare(snapshotKey(key), sb.base)
  let out = ''
  await sb.executor.run({ rootfs, args, onStdout: (c) => { out += c.toString() }, ...extra })
  return out
}

/** Entries of a diff dir as `path type` lines, whiteouts marked. */
async function listDiff (dir: string, rel = ''): Promise<string[]> {
  const out: string[] = []
  for (const name of (await readdir(join(dir, rel))).sort()) {
    const p = rel === '' ? name : `${rel}/${name}`
    const st = await lstat(join(dir, p))
    const kind = st.isDirectory() ? 'dir' : st.isCharacterDevice() && st.rdev === 0 ? 'whiteout' : st.isSymbolicLink() ? 'symlink' : 'file'
    out.push(`${p} ${kind}`)
    if (st.isDirectory()) out.push(...await listDiff(dir, p))
  }
  return out
}

function mountsUnder (path: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '').filter((m) => m.startsWith(path))
}

describe.skipIf(!isRoot)('runc executor (needs root for runc and mounts)', () => {
  let overlay: Sandbox
  beforeAll(async () => { overlay = await sandbox('overlay') })

  test('a step\'s upperdir holds exactly its changes: new file and a whiteout, no hosts/resolv.conf', async () => {
    await runIn(overlay, 'step1', ['sh', '-c', 'echo hi > /a; rm /bin/vi; cat /etc/hosts /etc/resolv.conf >/dev/null'])
    const upper = overlay.snapshotter.activeFsPath(snapshotKey('step1'))
    expect(readFileSync(join(upper, 'a'), 'utf8')).toBe('hi\n')
    const vi = lstatSync(join(upper, 'bin/vi'))
    expect(vi.isCharacterDevice() && vi.rdev === 0).toBe(true)
    const committed = await overlay.snapshotter.commit(snapshotKey('step1'), snapshotName('step1'))
    expect(await listDiff(committed.diffPath)).toEqual(['a file', 'bin dir', 'bin/vi whiteout'])
  })

  test('the copy backend produces the same diff as overlay', async () => {
    const copy = await sandbox('copy')
    await runIn(copy, 'step1', ['sh', '-c', 'echo hi > /a; rm /bin/vi'])
    const committed = await copy.snapshotter.commit(snapshotKey('step1'), snapshotName('step1'))
    expect(await listDiff(committed.diffPath)).toEqual(['a file', 'bin dir', 'bin/vi whiteout'])
    expect(readFileSync(join(committed.diffPath, 'a'), 'utf8')).toBe('hi\n')
  })

  test('network=none has only the loopback interface, host network sees the host\'s', async () => {
    const none = await runIn(overlay, 'net-none', ['cat', '/proc/net/dev'], { network: 'none' })
    const ifaces = none.split('\n').slice(2).map((l) => l.split(':')[0]!.trim()).filter((s) => s !== '')
    expect(ifaces).toEqual(['lo'])
    const host = await runIn(overlay, 'net-host', ['cat', '/proc/net/dev'], { network: 'host' })
    expect(host.split('\n').slice(2).filter((l) => l.trim() !== '').length).toBe(readFileSync('/proc/net/dev', 'utf8').split('\n').slice(2).filter((l) => l.trim() !== '').length)
  })

  test('a non-zero exit reports the exit code and the last lines of output', async () => {
    const err = await runIn(overlay, 'fail', ['sh', '-c', 'echo first; echo second >&2; exit 3']).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ExecFailedError)
    const failed = err as ExecFailedError
    expect(failed.code).toBe('EXEC_FAILED')
    expect(failed.exitCode).toBe(3)
    expect(failed.lastLines).toEqual(expect.arrayContaining(['first', 'second']))
    expect(failed.message).toContain('exit code: 3')
  })

  test('USER by name resolves uid, gid and supplementary groups from the image', async () => {
    const rootfs = await ensureBusyboxRootfs('amd64', cacheDir)
    const user = await resolveUser(rootfs, 'builder')
    expect(user).toEqual({ uid: 1000, gid: 1000, additionalGids: [10] })
    const out = await runIn(overlay, 'user', ['id'], { user, cwd: '/work/dir' })
    expect(out.trim()).toMatch(/^uid=1000\(builder\) gid=1000\(builder\) groups=.*\b10\(wheel\)/)
  })

  test('secret files, tmpfs and read-only binds are visible; the secret is not in the diff', async () => {
    const out = await runIn(overlay, 'mounts', ['sh', '-c', 'cat /run/secrets/token; stat -c %a /run/secrets/token; touch /scratch/x && echo tmpfs-ok; touch /ro/x || echo ro-ok'], {
      mounts: [
        { type: 'secret', destination: '/run/secrets/token', data: Buffer.from('s3cret\n'), mode: 0o400 },
        { type: 'tmpfs', destination: '/scratch', sizeBytes: 1 << 20 },
        { type: 'bind', destination: '/ro', source: overlay.stateDir, readonly: true },
      ],
    })
    expect(out).toBe('s3cret\n400\ntmpfs-ok\nro-ok\n')
    const committed = await overlay.snapshotter.commit(snapshotKey('mounts'), snapshotName('mounts'))
    expect(await listDiff(committed.diffPath)).toEqual([])
  })

  test('cancellation kills the process and leaves no mount, container or bundle behind', async () => {
    const ac = new AbortController()
    const rootfs = await overlay.snapshotter.prepare(snapshotKey('cancel'), overlay.base)
    const started = Date.now()
    const running = overlay.executor.run({ rootfs, args: ['sleep', '30'], signal: ac.signal })
    setTimeout(() => ac.abort(), 1500)
    const err = await running.catch((e: unknown) => e)
    expect(hasCode(err, 'CANCELLED')).toBe(true)
    expect(Date.now() - started).toBeLessThan(15_000)
    expect(mountsUnder(overlay.stateDir)).toEqual([])
    expect(execFileSync('runc', ['--root', overlay.executor.runcRoot, 'list', '-q'], { encoding: 'utf8' }).trim()).toBe('')
    expect(readdirSync(join(overlay.stateDir, 'executor'))).toEqual([])
  })

  test.runIf(isRoot)('an arm64 rootfs runs through qemu and reports aarch64', async () => {
    const arm64 = parsePlatform('linux/arm64')
    if (!await canRunPlatform(arm64)) throw new Error('this host has no binfmt handler for arm64: apt-get install qemu-user-static')
    const sb = await sandbox('overlay', 'arm64')
    expect((await runIn(sb, 'uname', ['uname', '-m'], { platform: arm64 })).trim()).toBe('aarch64')
  })

  test('an unknown platform fails naming it and what to install', async () => {
    const rootfs = await overlay.snapshotter.prepare(snapshotKey('s390x'), overlay.base)
    const err = await overlay.executor.run({ rootfs, args: ['true'], platform: parsePlatform('linux/s390x') }).catch((e: unknown) => e)
    expect(hasCode(err, 'MISSING_DEPENDENCY')).toBe(true)
    expect(String((err as Error).message)).toContain('linux/s390x')
  })
})
