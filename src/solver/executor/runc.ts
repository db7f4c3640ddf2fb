import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join, posix } from 'node:path'
import { mountAll, resolveInRoot, unmountAll, type Mount } from '../../cache/snapshots/index.js'
import { TsbuildError } from '../../common/errors.js'
import { shortenForDisplay } from '../../common/shorten.js'
import type { Platform } from '../../common/platform.js'
import { assertCanRunPlatform } from './binfmt.js'
import { formatSpec, generateSpec, hostsFile, resolvConf, type SpecMount, type SpecUlimit } from './spec.js'
import { findMountStubs, removeMountStubs } from './stubs.js'
import { OutputRedactor } from './redact.js'
import { OutputTail } from './outputTail.js'
import { findExecutable, runCommand } from './command.js'
import { sweepStaleSandboxes, type SweepResult } from './sweep.js'
import { resolveUser, type ExecUser } from './user.js'

/** A mount the process sees besides its rootfs. */
export type ExecMount =
  | { type: 'bind'; destination: string; source: string; readonly?: boolean }
  /** Mounts from a snapshotter (e.g. a cache mount or another stage's rootfs), mounted on the host first. */
  | { type: 'snapshot'; destination: string; mounts: readonly Mount[]; readonly?: boolean; /** Mount only this path of it (resolved inside it). */ subpath?: string }
  | { type: 'tmpfs'; destination: string; sizeBytes?: number }
  /** A file kept in memory (tmpfs) for the run only: RUN --mount=type=secret. */
  | { type: 'secret'; destination: string; data: Uint8Array; mode?: number; uid?: number; gid?: number }

export interface ExecRequest {
  /** The rootfs mounts from `Snapshotter.prepare`, mounted for the run and unmounted after. */
  rootfs: readonly Mount[]
  args: readonly string[]
  env?: readonly string[]
  cwd?: string
  /** Resolved ids, or a Dockerfile USER string resolved against the mounted rootfs's /etc/passwd and /etc/group. */
  user?: ExecUser | string
  /**
   * `default` shares the host's network namespace (so a step reaches the
   * network) without raw sockets; `host` (an entitlement) keeps them.
   */
  network?: 'none' | 'default' | 'host'
  security?: 'sandbox' | 'insecure'
  hostname?: string
  extraHosts?: ReadonlyArray<{ host: string; ip: string }>
  /** Resource limits (`--ulimit`); each replaces the default of its name. */
  ulimits?: readonly SpecUlimit[]
  /** A tmpfs mount at /dev/shm replaces the sandbox's default one (64 MiB). */
  mounts?: readonly ExecMount[]
  platform?: Platform
  /**
   * The process's output as it comes. A returned promise asks for a pause:
   * neither pipe is read until it settles, so a process writing faster than
   * the output is consumed blocks on write instead of filling memory.
   */
  onStdout?: (chunk: Buffer) => void | Promise<unknown>
  onStderr?: (chunk: Buffer) => void | Promise<unknown>
  /** Secret values the process was given: masked as `****` in its output and in a failure's last lines. */
  secrets?: readonly Uint8Array[]
  signal?: AbortSignal
}

export interface ExecResult { exitCode: 0 }

/** A RUN that exited non-zero: carries the exit code and the output's last lines. */
export class ExecFailedError extends TsbuildError {
  readonly exitCode: number
  readonly lastLines: readonly string[]
  constructor (args: readonly string[], exitCode: number, lastLines: readonly string[]) {
    super('EXEC_FAILED', `process ${quoteCommand(args)} did not complete successfully: exit code: ${exitCode}` +
      (lastLines.length > 0 ? `\n${lastLines.join('\n')}` : ''))
    this.name = 'ExecFailedError'
    this.exitCode = exitCode
    this.lastLines = lastLines
  }
}

/** A RUN whose process never started (no such executable, bad working directory, …), as runc reported it. */
export class ExecStartError extends TsbuildError {
  constructor (args: readonly string[], reason: string) {
    const missing = /exec: "([^"]+)": (?:stat [^:]+: )?no such file or directory|executable file not found in \$PATH/.exec(reason)
    const rlimit = /error setting rlimit type (\d+): operation not permitted/.exec(reason)
    super('EXEC_FAILED', `process ${quoteCommand(args)} did not complete successfully: ${reason}`,
      missing !== null
        ? { hint: `the image has no ${missing[1] ?? 'such executable'}: use a base image that has it${args[0] === '/bin/sh' ? ', or the exec form RUN ["program", "arg"]' : ''}` }
        : rlimit !== null
          ? { hint: `--ulimit ${RLIMIT_NAMES[Number(rlimit[1])] ?? ''} asks for more than tsbuild's own hard limit (see /proc/self/limits) and it may not raise it: ask for less or raise tsbuild's limit` }
          : {})
    this.name = 'ExecStartError'
  }
}

/** Linux's RLIMIT_* numbers, as runc names a limit it could not set. */
const RLIMIT_NAMES = ['cpu', 'fsize', 'data', 'stack', 'core', 'rss', 'nproc', 'nofile', 'memlock', 'as', 'locks', 'sigpending', 'msgqueue', 'nice', 'rtprio', 'rttime']

/** The command as Docker quotes it, shortened: a RUN line may be up to the kernel's 128 KiB argument limit, or over it. */
function quoteCommand (args: readonly string[]): string {
  return JSON.stringify(shortenForDisplay(args.join(' ')))
}

/** The last error runc logged (JSON lines), without its `runc run failed:` prefix; undefined when it logged none. */
async function runcError (logFile: string): Promise<string | undefined> {
  const text = await readFile(logFile, 'utf8').catch(() => '')
  let last: string | undefined
  for (const line of text.split('\n')) {
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string }
      if (entry.level === 'error' && typeof entry.msg === 'string') last = entry.msg
    } catch { /* not a log entry */ }
  }
  return last?.replace(/^runc run failed: /, '')
}

const TAIL_LINES = 20
const TAIL_BYTES = 16 * 1024
const DEFAULT_ENV = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']

/**
 * Runs processes in runc sandboxes. Each run gets its own bundle under
 * `<stateDir>/executor/<id>` and a unique container id in the shared runc
 * state root `<stateDir>/runc`; whatever happens (exit, failure, abort) the
 * container is deleted, everything mounted is unmounted and the bundle removed.
 */
export class RuncExecutor {
  private readonly stateDir: string
  private readonly runcBinary: string
  private checked?: Promise<void>

  constructor (stateDir: string, opts: { runc?: string } = {}) {
    this.stateDir = stateDir
    this.runcBinary = opts.runc ?? 'runc'
  }

  get runcRoot (): string { return join(this.stateDir, 'runc') }

  /**
   * Throws MISSING_DEPENDENCY with install advice when runc is not an
   * executable on PATH (or at the configured path). Only looks, never spawns:
   * every build calls this, and `tsbuild doctor` is where runc is really started.
   */
  async checkInstalled (): Promise<void> {
    this.checked ??= findExecutable(this.runcBinary).then((found) => {
      if (found !== undefined) return
      this.checked = undefined
      throw new TsbuildError('MISSING_DEPENDENCY', `runc is required to run build steps but ${this.runcBinary} could not be found`, { hint: 'apt-get install runc' })
    })
    await this.checked
  }

  /** Remove what dead tsbuild processes left in this state dir (see sweepStaleSandboxes). */
  async sweepStale (): Promise<SweepResult> {
    return await sweepStaleSandboxes(this.stateDir, { runc: this.runcBinary })
  }

  private executorDirReady: Promise<void> | undefined

  /** `<stateDir>/executor`, mode 0700 (also when an older tsbuild made it 0755). */
  private privateExecutorDir (): Promise<void> {
    const dir = join(this.stateDir, 'executor')
    this.executorDirReady ??= mkdir(dir, { recursive: true, mode: 0o700 }).then(async () => await chmod(dir, 0o700))
    return this.executorDirReady
  }

  async run (req: ExecRequest): Promise<ExecResult> {
    await this.checkInstalled()
    if (req.platform !== undefined) await assertCanRunPlatform(req.platform)
    if (req.signal?.aborted === true) throw cancelled()
    // The pid in the id lets sweepStaleSandboxes tell a dead build's leftovers from a live one's.
    const id = `tsb-${process.pid}-${randomBytes(6).toString('hex')}`
    const bundle = join(this.stateDir, 'executor', id)
    const rootfs = join(bundle, 'rootfs')
    const hostMounted: string[] = []
    let isReaped = false
    // config.json holds a step's environment, secrets given as env= included:
    // only root may look into the bundles.
    await this.privateExecutorDir()
    await mkdir(rootfs, { recursive: true, mode: 0o700 })
    await mkdir(this.runcRoot, { recursive: true })
    try {
      await mountAll(req.rootfs, rootfs, { relativeTo: join(this.stateDir, 'snapshots') })
      hostMounted.push(rootfs)
      const network = req.network ?? 'default'
      const hostname = req.hostname ?? 'tsbuildsandbox'
      const user = typeof req.user === 'string' ? await resolveUser(rootfs, req.user) : req.user ?? { uid: 0, gid: 0, additionalGids: [] }
      const cwd = posix.normalize('/' + (req.cwd ?? '/'))
      const cwdPath = await resolveInRoot(rootfs, cwd, { followFinal: true })
      await mkdir(cwdPath, { recursive: true }).then(async (created) => { if (created !== undefined) await chown(cwdPath, user.uid, user.gid) })

      await writeFile(join(bundle, 'hosts'), hostsFile(hostname, req.extraHosts))
      await writeFile(join(bundle, 'resolv.conf'), resolvConf(await readFile('/etc/resolv.conf', 'utf8').catch(() => ''), network))
      await writeFile(join(bundle, 'hostname'), hostname + '\n')
      const specMounts: SpecMount[] = [
        { destination: '/etc/hosts', type: 'bind', source: join(bundle, 'hosts'), options: ['rbind', 'ro'] },
        { destination: '/etc/resolv.conf', type: 'bind', source: join(bundle, 'resolv.conf'), options: ['rbind', 'ro'] },
        { destination: '/etc/hostname', type: 'bind', source: join(bundle, 'hostname'), options: ['rbind', 'ro'] },
      ]
      specMounts.push(...await this.prepareExtraMounts(bundle, req.mounts ?? [], hostMounted))
      const stubs = await findMountStubs(rootfs, ['/proc', '/dev', '/sys', ...specMounts.map((m) => m.destination)])

      const spec = generateSpec({
        args: req.args, env: req.env ?? DEFAULT_ENV, cwd, user, hostname, network, security: req.security ?? 'sandbox', mounts: specMounts,
        ...(req.ulimits !== undefined ? { ulimits: req.ulimits } : {}),
      })
      await writeFile(join(bundle, 'config.json'), formatSpec(spec), { mode: 0o600 })
      try {
        const exitCode = await this.runContainer(id, bundle, req)
        isReaped = true
        if (exitCode.code !== 0) {
          const startError = await runcError(join(bundle, 'runc.log'))
          if (startError !== undefined) throw new ExecStartError(req.args, startError)
          throw new ExecFailedError(req.args, exitCode.code, exitCode.tail)
        }
      } finally {
        await removeMountStubs(stubs).catch(() => undefined)
      }
      return { exitCode: 0 }
    } finally {
      // `runc run` deletes the container when its process exits; only a run
      // that was cut short (cancelled, failed to spawn) can leave one behind.
      if (!isReaped) await runCommand(this.runcBinary, ['--root', this.runcRoot, 'delete', '--force', id]).catch(() => undefined)
      for (const target of hostMounted.reverse()) await unmountAll(target).catch(() => undefined)
      await rm(bundle, { recursive: true, force: true }).catch(() => undefined)
    }
  }

  private async prepareExtraMounts (bundle: string, mounts: readonly ExecMount[], hostMounted: string[]): Promise<SpecMount[]> {
    const out: SpecMount[] = []
    let n = 0
    for (const m of mounts) {
      const destination = posix.normalize('/' + m.destination)
      switch (m.type) {
        case 'bind':
          out.push({ destination, type: 'bind', source: m.source, options: ['rbind', m.readonly === true ? 'ro' : 'rw'] })
          break
        case 'snapshot': {
          const target = join(bundle, 'mounts', String(n++))
          await mkdir(target, { recursive: true })
          await mountAll(m.mounts, target, { relativeTo: join(this.stateDir, 'snapshots') })
          hostMounted.push(target)
          const source = m.subpath !== undefined && m.subpath !== '/' ? await resolveInRoot(target, m.subpath, { followFinal: true }) : target
          out.push({ destination, type: 'bind', source, options: ['rbind', m.readonly === true ? 'ro' : 'rw'] })
          break
        }
        case 'tmpfs':
          out.push({ destination, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777', ...(m.sizeBytes !== undefined ? [`size=${m.sizeBytes}`] : [])] })
          break
        case 'secret': {
          const dir = join(bundle, 'secrets')
          if (!hostMounted.includes(dir)) {
            await mkdir(dir, { recursive: true })
            // Secrets live in memory only, never on the state dir's disk.
            await runCommand('mount', ['-t', 'tmpfs', '-o', 'mode=0700,size=16m', 'tmpfs', dir])
            hostMounted.push(dir)
          }
          const file = join(dir, String(n++))
          await writeFile(file, m.data, { mode: m.mode ?? 0o400 })
          await chown(file, m.uid ?? 0, m.gid ?? 0)
          out.push({ destination, type: 'bind', source: file, options: ['rbind', 'ro'] })
          break
        }
      }
    }
    return out
  }

  private async runContainer (id: string, bundle: string, req: ExecRequest): Promise<{ code: number; tail: string[] }> {
    // runc's own messages go to a log, not into the step's output: a process
    // that could not even start is reported as such (see runcError).
    const child = spawn(this.runcBinary, ['--root', this.runcRoot, '--log', join(bundle, 'runc.log'), '--log-format', 'json', 'run', '--bundle', bundle, id], { stdio: ['ignore', 'pipe', 'pipe'] })
    const tail = new OutputTail(TAIL_LINES, TAIL_BYTES)
    const redactors = { out: new OutputRedactor(req.secrets ?? []), err: new OutputRedactor(req.secrets ?? []) }
    let aborted = false
    // Both pipes pause together while any consumer is behind: reading one
    // while the other waits would let a step that writes both grow memory.
    let pauses = 0
    const resume = (): void => {
      if (--pauses > 0 || aborted) return
      child.stdout.resume()
      child.stderr.resume()
    }
    const forward = (c: Buffer, to: ExecRequest['onStdout']): void => {
      if (c.length === 0) return
      tail.push(c)
      const wait = to?.(c)
      if (wait === undefined || aborted) return
      if (pauses++ === 0) { child.stdout.pause(); child.stderr.pause() }
      wait.then(resume, resume)
    }
    child.stdout.on('data', (c: Buffer) => { forward(redactors.out.write(c), req.onStdout) })
    child.stderr.on('data', (c: Buffer) => { forward(redactors.err.write(c), req.onStderr) })
    child.stdout.on('end', () => { forward(redactors.out.end(), req.onStdout) })
    child.stderr.on('end', () => { forward(redactors.err.end(), req.onStderr) })
    const onAbort = (): void => {
      aborted = true
      // A killed process's last output must not wait for a reader that may never come.
      child.stdout.resume()
      child.stderr.resume()
      void runCommand(this.runcBinary, ['--root', this.runcRoot, 'kill', id, 'KILL']).catch(() => undefined)
      // runc may not have created the container yet; killing `runc run` itself then stops it.
      setTimeout(() => { if (child.exitCode === null) child.kill('SIGKILL') }, 2000).unref()
    }
    req.signal?.addEventListener('abort', onAbort, { once: true })
    try {
      const code = await new Promise<number>((resolve, reject) => {
        child.on('error', reject)
        child.on('close', (c, sig) => resolve(c ?? 128 + (sig === 'SIGKILL' ? 9 : 15)))
      })
      if (aborted) throw cancelled()
      return { code, tail: tail.lines() }
    } finally {
      req.signal?.removeEventListener('abort', onAbort)
    }
  }
}

function cancelled (): TsbuildError {
  return new TsbuildError('CANCELLED', 'the build step was cancelled')
}
