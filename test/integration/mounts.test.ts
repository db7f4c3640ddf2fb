import { execFile } from 'node:child_process'
import { cp, lstat, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, test } from 'vitest'
import { Snapshotter, snapshotKey, snapshotName, type SnapshotName } from '../../src/cache/snapshots/index.js'
import { hasCode } from '../../src/common/errors.js'
import type { SecretMount, SshMount } from '../../src/llb/index.js'
import { RuncExecutor } from '../../src/solver/executor/index.js'
import { CacheMountManager, resolveSecrets, SecretProvider, SshAgents } from '../../src/solver/mounts/index.js'
import { ensureBusyboxRootfs } from '../setup/busybox.js'

const run = promisify(execFile)
const isRoot = process.getuid?.() === 0
const cacheDir = resolve(import.meta.dirname, '../../.cache/fixtures')
const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

interface Sandbox { stateDir: string; snapshotter: Snapshotter; executor: RuncExecutor; base: SnapshotName }

async function sandbox (): Promise<Sandbox> {
  const stateDir = await mkdtemp(join(tmpdir(), 'tsbuild-mounts-'))
  const snapshotter = new Snapshotter(stateDir, 'overlay')
  const base = snapshotName('busybox')
  const rootfs = await ensureBusyboxRootfs('amd64', cacheDir)
  await snapshotter.createCommitted(base, async (fsDir) => { await cp(rootfs, fsDir, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true }) })
  return { stateDir, snapshotter, executor: new RuncExecutor(stateDir), base }
}

async function listTree (dir: string, rel = ''): Promise<string[]> {
  const out: string[] = []
  for (const name of (await readdir(join(dir, rel))).sort()) {
    const p = rel === '' ? name : `${rel}/${name}`
    out.push(p)
    if ((await lstat(join(dir, p))).isDirectory()) out.push(...await listTree(dir, p))
  }
  return out
}

/** The committed diff of an active snapshot: what the step's layer would hold. */
async function commitAndList (sb: Sandbox, key: string): Promise<string[]> {
  const info = await sb.snapshotter.commit(snapshotKey(key), snapshotName(`${key}-done`))
  return await listTree(info.diffPath)
}

/** Every regular file under `dir` whose bytes contain `needle` (a recursive grep, as root sees the disk). */
async function filesContaining (dir: string, needle: string): Promise<string[]> {
  const r = await run('grep', ['-r', '-l', '-a', '-F', '--', needle, dir]).catch((e: { code?: number; stdout?: string }) => {
    if (e.code === 1) return { stdout: '' }
    throw e
  })
  return r.stdout.split('\n').filter((l) => l !== '')
}

const secretMount = (secretId: string, dest: string, extra: Partial<SecretMount> = {}): SecretMount =>
  ({ type: 'secret', dest, input: -1, output: -1, readonly: true, secretId, uid: 0, gid: 0, mode: 0o400, optional: false, ...extra })
const sshMount = (dest: string, extra: Partial<SshMount> = {}): SshMount =>
  ({ type: 'ssh', dest, input: -1, output: -1, readonly: true, sshId: 'default', uid: 0, gid: 0, mode: 0o600, optional: false, ...extra })

describe.skipIf(!isRoot)('RUN mounts through runc (needs root)', () => {
  let sb: Sandbox
  beforeAll(async () => { sb = await sandbox() })

  test('secrets: readable in the step with mode/owner, in the env when asked, and nowhere on disk or in a layer afterwards', async () => {
    const secret = `tsbuild-secret-${Date.now()}-${Math.random().toString(36).slice(2)}`
    const provider = new SecretProvider([{ id: 'tok', kind: 'env', env: 'CLIENT_TOKEN' }], { CLIENT_TOKEN: secret })
    const parts = await resolveSecrets(provider, [secretMount('tok', '/run/secrets/tok', { mode: 0o440, uid: 1000, gid: 10 })], [{ id: 'tok', name: 'TOKEN', optional: false }])
    const key = snapshotKey('secret-step')
    const rootfs = await sb.snapshotter.prepare(key, sb.base)
    let out = ''
    await sb.executor.run({
      rootfs,
      args: ['sh', '-c', 'test "$(cat /run/secrets/tok)" = "$TOKEN" && echo match > /out && stat -c %a:%u:%g /run/secrets/tok > /perm'],
      env: [PATH_ENV, ...parts.env],
      mounts: parts.mounts,
      onStdout: (c) => { out += c.toString() },
      onStderr: (c) => { out += c.toString() },
    })
    const upper = sb.snapshotter.activeFsPath(key)
    expect(await readFile(join(upper, 'out'), 'utf8')).toBe('match\n')
    expect(await readFile(join(upper, 'perm'), 'utf8')).toBe('440:1000:10\n')
    expect(await commitAndList(sb, 'secret-step')).toEqual(['out', 'perm']) // no /run/secrets stub in the layer
    expect(out).not.toContain(secret)
    expect(await filesContaining(sb.stateDir, secret)).toEqual([])
    const control = await mkdtemp(join(tmpdir(), 'tsbuild-grep-control-'))
    await writeFile(join(control, 'leak'), `x${secret}x`)
    expect(await filesContaining(control, secret)).toEqual([join(control, 'leak')]) // the grep does find a leak
    expect(await readdir(join(sb.stateDir, 'executor'))).toEqual([])
  })

  test('a required secret that was not passed fails before running, naming it', async () => {
    const err = await resolveSecrets(new SecretProvider([], {}), [secretMount('npmrc', '/root/.npmrc')], []).catch((e: unknown) => e)
    expect(hasCode(err, 'NOT_FOUND')).toBe(true)
    expect((err as Error).message).toContain('"npmrc"')
  })

  test('cache mounts: contents persist across steps and never enter the layer', async () => {
    const caches = new CacheMountManager(sb.stateDir)
    for (const n of [1, 2]) {
      const lease = await caches.acquire({ id: 'counter', sharing: 'locked' })
      const key = snapshotKey(`cache-step-${n}`)
      try {
        await sb.executor.run({
          rootfs: await sb.snapshotter.prepare(key, sb.base),
          args: ['sh', '-c', 'echo x >> /var/cache/app/count && wc -l < /var/cache/app/count > /seen'],
          mounts: [{ type: 'bind', destination: '/var/cache/app', source: lease.hostPath }],
        })
      } finally {
        await lease.release()
      }
      const upper = sb.snapshotter.activeFsPath(key)
      expect((await readFile(join(upper, 'seen'), 'utf8')).trim()).toBe(String(n))
      expect(await commitAndList(sb, `cache-step-${n}`)).toEqual(['seen'])
    }
    expect((await caches.list()).map((u) => u.id)).toEqual(['counter'])
  })

  test('ssh: a private agent from a key file is visible as a socket with SSH_AUTH_SOCK set, and holds the key', async () => {
    const keyDir = await mkdtemp(join(tmpdir(), 'tsbuild-sshkey-'))
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'tsbuild-test', '-f', join(keyDir, 'id')])
    const agents = new SshAgents([{ id: 'deploy', paths: [join(keyDir, 'id')] }], {}, join(sb.stateDir, 'tmp'))
    try {
      const parts = await agents.forMounts([sshMount('/run/buildkit/ssh_agent.0', { sshId: 'deploy', uid: 1000, mode: 0o600 })])
      try {
        const proxy = parts.mounts[0]?.type === 'bind' ? parts.mounts[0].source : ''
        const listed = await run('ssh-add', ['-l'], { env: { SSH_AUTH_SOCK: proxy, PATH: process.env['PATH'] ?? '' } })
        expect(listed.stdout).toContain('tsbuild-test')
        expect((await stat(proxy)).uid).toBe(1000)
        const key = snapshotKey('ssh-step')
        await sb.executor.run({
          rootfs: await sb.snapshotter.prepare(key, sb.base),
          args: ['sh', '-c', 'test -S "$SSH_AUTH_SOCK" && echo "$SSH_AUTH_SOCK" > /sock'],
          env: [PATH_ENV, ...parts.env],
          mounts: parts.mounts,
        })
        const upper = sb.snapshotter.activeFsPath(key)
        expect(await readFile(join(upper, 'sock'), 'utf8')).toBe('/run/buildkit/ssh_agent.0\n')
        expect(await commitAndList(sb, 'ssh-step')).toEqual(['sock'])
      } finally {
        await parts.release()
      }
    } finally {
      await agents.close()
    }
    expect(await readdir(join(sb.stateDir, 'tmp'))).toEqual([])
  })

  test('ssh default forwards the client\'s SSH_AUTH_SOCK; a missing one fails with a hint', async () => {
    const keyDir = await mkdtemp(join(tmpdir(), 'tsbuild-sshkey-'))
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'client-key', '-f', join(keyDir, 'id')])
    const clientAgent = new SshAgents([{ id: 'k', paths: [join(keyDir, 'id')] }], {}, join(sb.stateDir, 'tmp'))
    try {
      const clientSock = await clientAgent.socketFor('k')
      const forwarded = new SshAgents([{ id: 'default', paths: [] }], { SSH_AUTH_SOCK: clientSock }, join(sb.stateDir, 'tmp'))
      const parts = await forwarded.forMounts([sshMount('/run/buildkit/ssh_agent.0')])
      const proxy = parts.mounts[0]?.type === 'bind' ? parts.mounts[0].source : ''
      expect((await run('ssh-add', ['-l'], { env: { SSH_AUTH_SOCK: proxy, PATH: process.env['PATH'] ?? '' } })).stdout).toContain('client-key')
      await parts.release()
      const none = new SshAgents([{ id: 'default', paths: [] }], {}, join(sb.stateDir, 'tmp'))
      const err = await none.forMounts([sshMount('/run/buildkit/ssh_agent.0')]).catch((e: unknown) => e)
      expect((err as Error).message).toContain('SSH_AUTH_SOCK is not set')
      const notPassed = await new SshAgents([], {}, join(sb.stateDir, 'tmp')).forMounts([sshMount('/x')]).catch((e: unknown) => e)
      expect(hasCode(notPassed, 'NOT_FOUND')).toBe(true)
      expect((await new SshAgents([], {}, join(sb.stateDir, 'tmp')).forMounts([sshMount('/x', { optional: true })])).mounts).toEqual([])
    } finally {
      await clientAgent.close()
    }
  })
})
