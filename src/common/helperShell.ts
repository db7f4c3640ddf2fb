import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import type { Socket } from 'node:net'
import { TsbuildError } from './errors.js'

/**
 * Short host commands (mount, umount, getfattr, setfattr, mknod, touch, runc
 * delete) run through a few long-lived `/bin/sh` processes instead of one
 * spawn each. Every spawn forks Node's whole address space: in a build
 * process of ~80 MB that takes 10–15 ms and blocks the event loop meanwhile,
 * while a small shell forks in well under a millisecond. A build makes
 * several such calls per step, most of them on its critical path.
 *
 * Each shell runs one command at a time; a busy pool grows up to
 * MAX_SHELLS, then callers queue. Idle shells do not keep the process alive,
 * and they exit when tsbuild does (their stdin closes), however it ends.
 * Long-running commands (cp of a whole tree, runc run) keep their own spawn.
 */
export interface HelperResult {
  readonly code: number
  readonly stdout: Buffer
  readonly stderr: string
}

export interface HelperOptions {
  /** Working directory for this command only. */
  readonly cwd?: string
}

const MAX_SHELLS = 4
/** The exit status sh gives a command it cannot find (execvp's ENOENT for a spawn). */
export const COMMAND_NOT_FOUND = 127

const idle: HelperShell[] = []
const waiting: Array<(shell: HelperShell) => void> = []
let live = 0

/** Run `cmd args…` (looked up on PATH) with stdin from /dev/null; resolves with its exit status and output. */
export async function runHelper (cmd: string, args: readonly string[], opts: HelperOptions = {}): Promise<HelperResult> {
  const shell = await acquire()
  try {
    return await shell.run(cmd, args, opts)
  } finally {
    release(shell)
  }
}

/** Debian packages of the host tools tsbuild runs, for the hint when one is missing. */
const TOOL_PACKAGES: Record<string, string> = {
  setfattr: 'attr', getfattr: 'attr', mknod: 'coreutils', cp: 'coreutils', touch: 'coreutils', mount: 'mount', umount: 'mount',
}

export function missingTool (cmd: string, cause?: Error): TsbuildError {
  return new TsbuildError('MISSING_DEPENDENCY', `${cmd} is not installed`, { hint: `apt-get install ${TOOL_PACKAGES[cmd] ?? cmd}`, ...(cause !== undefined ? { cause } : {}) })
}

/** {@link runHelper} for a tool that must succeed: its stdout, else an error naming a missing tool or quoting its stderr. */
export async function runTool (cmd: string, args: readonly string[], opts: HelperOptions = {}): Promise<Buffer> {
  const r = await runHelper(cmd, args, opts)
  if (r.code === 0) return r.stdout
  if (r.code === COMMAND_NOT_FOUND && r.stderr.includes('not found')) throw missingTool(cmd)
  throw new TsbuildError('IO', `${cmd} ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`)
}

async function acquire (): Promise<HelperShell> {
  for (let shell = idle.pop(); shell !== undefined; shell = idle.pop()) if (shell.isAlive()) return shell
  if (live < MAX_SHELLS) {
    live++
    return new HelperShell(() => { live-- })
  }
  return await new Promise((resolve) => waiting.push(resolve))
}

function release (shell: HelperShell): void {
  if (!shell.isAlive()) {
    // Its slot is free again: start a fresh shell for the next waiter, if any.
    const next = waiting.shift()
    if (next !== undefined) void acquire().then(next)
    return
  }
  const next = waiting.shift()
  if (next !== undefined) next(shell)
  else { shell.idle(); idle.push(shell) }
}

/** POSIX sh single quoting: safe for any argument (NUL cannot occur in one). */
function quote (arg: string): string {
  return `'${arg.replace(/'/g, "'\\''")}'`
}

class HelperShell {
  private readonly child: ChildProcessWithoutNullStreams
  /** Ends each command's output on both streams; random, so no output can imitate it. */
  private readonly token = randomBytes(16).toString('hex')
  private alive = true
  private current?: {
    out: Buffer[]
    outTail: string
    err: Buffer[]
    errTail: string
    code?: number
    errDone: boolean
    resolve: (r: HelperResult) => void
    reject: (e: Error) => void
  }

  constructor (onExit: () => void) {
    this.child = spawn('/bin/sh', [], { stdio: ['pipe', 'pipe', 'pipe'] })
    // Ctrl-C reaches the whole process group; tsbuild cancels the build itself
    // and then needs its unmounts to finish, so neither the shell nor what it
    // runs stops on SIGINT (it exits with tsbuild, when its stdin closes).
    this.child.stdin.write("trap '' INT\n")
    this.child.stdout.on('data', (b: Buffer) => this.onData(b, 'out'))
    this.child.stderr.on('data', (b: Buffer) => this.onData(b, 'err'))
    this.child.stdin.on('error', () => { /* reported through 'exit' */ })
    const end = (err: Error): void => {
      if (!this.alive) return
      this.alive = false
      const c = this.current
      this.current = undefined
      c?.reject(err)
      onExit()
    }
    this.child.on('error', end)
    this.child.on('exit', (code, signal) => end(new Error(`helper shell exited (${signal ?? `exit ${code}`})`)))
  }

  isAlive (): boolean {
    return this.alive
  }

  async run (cmd: string, args: readonly string[], opts: HelperOptions): Promise<HelperResult> {
    if (!this.alive) throw new Error('helper shell is gone')
    this.ref(true)
    const command = [cmd, ...args].map(quote).join(' ')
    const line = opts.cwd === undefined ? `${command} </dev/null` : `(cd ${quote(opts.cwd)} && exec ${command} </dev/null)`
    return await new Promise((resolve, reject) => {
      this.current = { out: [], outTail: '', err: [], errTail: '', errDone: false, resolve, reject }
      this.child.stdin.write(`${line}\nprintf '\\n%s %d\\n' ${this.token} "$?"; printf '\\n%s\\n' ${this.token} >&2\n`)
    })
  }

  /** Waiting for work: let the process exit around it. */
  idle (): void {
    this.ref(false)
  }

  private ref (on: boolean): void {
    // The pipes are sockets underneath; each holds the event loop on its own.
    for (const h of [this.child, this.child.stdin as unknown as Socket, this.child.stdout as Socket, this.child.stderr as Socket]) {
      if (on) h.ref()
      else h.unref()
    }
  }

  private onData (b: Buffer, stream: 'out' | 'err'): void {
    const c = this.current
    if (c === undefined) return
    // The end marker can arrive split over chunks: look at the last bytes seen so far.
    if (stream === 'out') {
      c.out.push(b)
      c.outTail = (c.outTail + b.toString('latin1')).slice(-64)
      const m = /\n([0-9a-f]{32}) (\d+)\n$/.exec(c.outTail)
      if (m !== null && m[1] === this.token) c.code = Number(m[2])
    } else {
      c.err.push(b)
      c.errTail = (c.errTail + b.toString('latin1')).slice(-64)
      if (c.errTail.endsWith(`\n${this.token}\n`)) c.errDone = true
    }
    if (c.code === undefined || !c.errDone) return
    this.current = undefined
    const out = Buffer.concat(c.out)
    const err = Buffer.concat(c.err)
    const outMarker = `\n${this.token} ${c.code}\n`.length
    const errMarker = `\n${this.token}\n`.length
    c.resolve({ code: c.code, stdout: out.subarray(0, out.length - outMarker), stderr: err.subarray(0, err.length - errMarker).toString('utf8') })
  }
}
