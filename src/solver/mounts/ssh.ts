import { spawn } from 'node:child_process'
import { chmod, chown, mkdir, mkdtemp, rm, stat } from 'node:fs/promises'
import { createConnection, createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { TsbuildError } from '../../common/errors.js'
import type { SshSpec } from '../../engine/request.js'
import type { SshMount } from '../../llb/index.js'
import type { ExecMount } from '../executor/index.js'

interface Agent { socket: string; pid?: number; dir?: string }

/**
 * The ssh agents a build may forward, from its `--ssh` specs:
 *   `default` (no paths)      the client's $SSH_AUTH_SOCK (from `env`, not this process)
 *   `id=/path/agent.sock`     that agent socket
 *   `id=/path/key[,/key2]`    a private `ssh-agent` started here, holding those keys
 * Agents start on first use; `close()` stops the ones started here.
 */
export class SshAgents {
  private readonly specs: Map<string, SshSpec>
  private readonly env: Readonly<Record<string, string | undefined>>
  private readonly tmpDir: string
  private readonly agents = new Map<string, Promise<Agent>>()

  /** `tmpDir` is where private agents and per-step proxies put their sockets (e.g. `<stateDir>/tmp`). */
  constructor (specs: readonly SshSpec[], env: Readonly<Record<string, string | undefined>>, tmpDir: string) {
    this.specs = new Map(specs.map((s) => [s.id, s]))
    this.env = env
    this.tmpDir = tmpDir
  }

  has (id: string): boolean {
    return this.specs.has(id)
  }

  /** Host path of the agent socket for `id`, starting a private agent if needed; undefined when no such id was passed. */
  async socketFor (id: string): Promise<string | undefined> {
    const spec = this.specs.get(id)
    if (spec === undefined) return undefined
    let agent = this.agents.get(id)
    if (agent === undefined) {
      agent = this.startAgent(spec)
      this.agents.set(id, agent)
      agent.catch(() => this.agents.delete(id))
    }
    return (await agent).socket
  }

  /**
   * Expose the agents a RUN asks for. Each mount gets its own proxy socket
   * (owned by the mount's uid/gid with its mode) that forwards connections to
   * the agent, so the real socket's permissions are never touched. The
   * first mount's target becomes SSH_AUTH_SOCK. Call `release` after the step.
   */
  async forMounts (mounts: readonly SshMount[]): Promise<{ mounts: ExecMount[]; env: string[]; release: () => Promise<void> }> {
    const servers: Server[] = []
    let dir: string | undefined
    const release = async (): Promise<void> => {
      await Promise.all(servers.map(async (s) => await new Promise<void>((resolve) => s.close(() => resolve()))))
      if (dir !== undefined) await rm(dir, { recursive: true, force: true })
    }
    try {
      const out: ExecMount[] = []
      const env: string[] = []
      for (const m of mounts) {
        const agentSocket = await this.socketFor(m.sshId)
        if (agentSocket === undefined) {
          if (m.optional) continue
          throw new TsbuildError('NOT_FOUND', `ssh agent ${JSON.stringify(m.sshId)} mounted at ${m.dest} was not provided`, {
            hint: m.sshId === 'default' ? 'pass --ssh default (forwards $SSH_AUTH_SOCK)' : `pass --ssh ${m.sshId}=<agent socket or key file>`,
          })
        }
        dir ??= await mkdtemp(join(await this.ensureTmp(), 'ssh-'))
        const proxy = join(dir, `${out.length}.sock`)
        servers.push(await proxySocket(proxy, agentSocket))
        await chown(proxy, m.uid, m.gid)
        await chmod(proxy, m.mode)
        out.push({ type: 'bind', destination: m.dest, source: proxy })
        if (env.length === 0) env.push(`SSH_AUTH_SOCK=${m.dest}`)
      }
      return { mounts: out, env, release }
    } catch (err) {
      await release()
      throw err
    }
  }

  /** Stop the agents started here and remove their sockets. */
  async close (): Promise<void> {
    const started = await Promise.allSettled([...this.agents.values()])
    this.agents.clear()
    for (const s of started) {
      if (s.status !== 'fulfilled') continue
      if (s.value.pid !== undefined) { try { process.kill(s.value.pid, 'SIGTERM') } catch { /* already gone */ } }
      if (s.value.dir !== undefined) await rm(s.value.dir, { recursive: true, force: true })
    }
  }

  private async startAgent (spec: SshSpec): Promise<Agent> {
    if (spec.paths.length === 0) {
      const sock = this.env['SSH_AUTH_SOCK']
      if (sock === undefined || sock === '') {
        throw new TsbuildError('NOT_FOUND', `--ssh ${spec.id}: SSH_AUTH_SOCK is not set`, { hint: 'start an agent (eval $(ssh-agent); ssh-add) or pass key files: --ssh default=~/.ssh/id_ed25519' })
      }
      await assertSocket(sock, spec.id)
      return { socket: sock }
    }
    const kinds = await Promise.all(spec.paths.map(async (p) => await stat(p).then((s) => (s.isSocket() ? 'socket' : 'file'), (err: unknown) => {
      throw new TsbuildError('NOT_FOUND', `--ssh ${spec.id}: cannot read ${p}`, { cause: err })
    })))
    if (kinds.includes('socket')) {
      if (spec.paths.length > 1) throw new TsbuildError('USAGE', `--ssh ${spec.id}: an agent socket cannot be combined with other paths`)
      return { socket: spec.paths[0]! }
    }
    return await this.startPrivateAgent(spec)
  }

  private async startPrivateAgent (spec: SshSpec): Promise<Agent> {
    const dir = await mkdtemp(join(await this.ensureTmp(), 'ssh-agent-'))
    await chmod(dir, 0o700)
    const socket = join(dir, 'agent.sock')
    try {
      // -D keeps the agent in the foreground as our child, so its pid is known and it dies with a kill.
      const agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore', detached: false })
      const started = await new Promise<number>((resolve, reject) => {
        agent.once('error', (err) => reject(new TsbuildError('MISSING_DEPENDENCY', `--ssh ${spec.id}: cannot start ssh-agent`, { hint: 'apt-get install openssh-client', cause: err })))
        agent.once('spawn', () => resolve(agent.pid!))
      })
      agent.unref()
      await waitForSocket(socket, 5000)
      await run('ssh-add', spec.paths, { SSH_AUTH_SOCK: socket, PATH: this.env['PATH'] ?? '/usr/bin:/bin' }).catch((err: unknown) => {
        try { process.kill(started, 'SIGTERM') } catch { /* gone */ }
        throw new TsbuildError('INVALID_INSTRUCTION', `--ssh ${spec.id}: cannot load keys ${spec.paths.join(', ')} (passphrase-protected keys need a running agent: --ssh ${spec.id}=$SSH_AUTH_SOCK)`, { cause: err })
      })
      return { socket, pid: started, dir }
    } catch (err) {
      await rm(dir, { recursive: true, force: true })
      throw err
    }
  }

  private async ensureTmp (): Promise<string> {
    await mkdir(this.tmpDir, { recursive: true })
    return this.tmpDir
  }
}

async function proxySocket (path: string, target: string): Promise<Server> {
  const server = createServer((client) => {
    const upstream = createConnection(target)
    client.pipe(upstream).pipe(client)
    const drop = (): void => { client.destroy(); upstream.destroy() }
    client.on('error', drop)
    upstream.on('error', drop)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(path, () => { server.off('error', reject); resolve() })
  })
  server.unref()
  return server
}

async function assertSocket (path: string, id: string): Promise<void> {
  const st = await stat(path).catch(() => undefined)
  if (st?.isSocket() !== true) throw new TsbuildError('NOT_FOUND', `--ssh ${id}: ${path} is not an agent socket`)
}

async function waitForSocket (path: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while ((await stat(path).catch(() => undefined))?.isSocket() !== true) {
    if (Date.now() > deadline) throw new TsbuildError('UNAVAILABLE', `ssh-agent did not create ${path} within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function run (cmd: string, args: readonly string[], env: Record<string, string>): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env })
    let errOut = ''
    child.stderr.on('data', (c: Buffer) => { errOut += c.toString() })
    child.on('error', reject)
    child.on('close', (code) => code === 0 ? resolve() : reject(new Error(`${cmd}: exit ${code}: ${errOut.trim()}`)))
  })
}

