import { TsbuildError } from '../common/errors.js'
import type { Platform } from '../common/platform.js'
import { marshalDefinition, type Definition, type MarshalOptions } from './definition.js'
import { ExecVertex, type ExecSpec, type MountSpec } from './exec.js'
import { FileVertex, type FileActionChain } from './fileop.js'
import type { ExecMeta, HostIp, NetworkMode, OpMetadata, ProxyEnv, SecretEnv, SecurityMode, SourceLocation, Ulimit } from './ops.js'
import { resolvePath, shlexSplit } from './paths.js'
import { MetadataVertex, pickMetadata, toPlatform, type MetadataOptions, type Output } from './vertex.js'

/** Per-State settings that later ops inherit (BuildKit's state values). */
interface StateValues {
  /** Ordered; each key once, re-adding a key moves it to the end. */
  readonly env: readonly EnvVar[]
  readonly dir: string
  readonly user: string
  readonly platform?: Platform
  readonly hostname?: string
  readonly network: NetworkMode
  readonly security: SecurityMode
  readonly extraHosts: readonly HostIp[]
}

/** One environment variable with its `KEY=value` entry, built once and shared by every later env list. */
interface EnvVar {
  readonly key: string
  readonly value: string
  readonly entry: string
}

const DEFAULT_VALUES: StateValues = { env: [], dir: '/', user: '', network: 'default', security: 'sandbox', extraHosts: [] }

export interface RunOptions extends MetadataOptions {
  /** The argv; give this or `shlex`. */
  readonly args?: readonly string[]
  /** A command line split shell-style into argv (no shell runs, nothing expands). */
  readonly shlex?: string
  /** Extra environment for this run only, on top of the State's. */
  readonly env?: Readonly<Record<string, string>>
  /** Working directory for this run; relative to the State's. */
  readonly cwd?: string
  readonly user?: string
  readonly hostname?: string
  readonly mounts?: readonly MountSpec[]
  readonly readonlyRootfs?: boolean
  readonly network?: NetworkMode
  readonly security?: SecurityMode
  readonly proxyEnv?: ProxyEnv
  readonly extraHosts?: readonly HostIp[]
  readonly secretEnv?: readonly SecretEnv[]
  /** Resource limits of the process (BuildKit's AddUlimit); empty leaves the executor's defaults. */
  readonly ulimits?: readonly Ulimit[]
}

/**
 * `KEY=value` entries of an env list, built once per list. Every run from
 * the same State settings gets the same (frozen) array, so its ops share it
 * and encode.ts serialises it once for all of them; in a big Dockerfile a
 * stage's env is hundreds of entries carried by every RUN.
 */
const envEntryCache = new WeakMap<readonly EnvVar[], readonly string[]>()

function envEntries (env: readonly EnvVar[]): readonly string[] {
  let entries = envEntryCache.get(env)
  if (entries === undefined) {
    entries = Object.freeze(env.map((e) => e.entry))
    envEntryCache.set(env, entries)
  }
  return entries
}

/** `env` with `key` set to `value` (moved to the end when present). */
function setEnvVar (env: readonly EnvVar[], key: string, value: string): EnvVar[] {
  const v: EnvVar = { key, value, entry: `${key}=${value}` }
  let at = env.length - 1
  while (at >= 0 && env[at]!.key !== key) at--
  // Usually a new key: one native, exact-size copy.
  return at < 0 ? env.concat(v) : env.slice(0, at).concat(env.slice(at + 1), v)
}

/**
 * An immutable point in a build graph: one output of a vertex (or scratch)
 * plus the settings later ops inherit (env, working dir, user, platform …).
 * Every method returns a new State; none changes this one.
 */
export class State {
  protected constructor (private readonly out: Output | null, protected readonly values: StateValues) {}

  /** A State on `out` (null = scratch) with default settings. */
  static fromOutput (out: Output | null): State {
    return new State(out, DEFAULT_VALUES)
  }

  /** The vertex output this State stands for; null for scratch. */
  output (): Output | null {
    return this.out
  }

  isScratch (): boolean {
    return this.out === null
  }

  /** The same settings on another output. */
  withOutput (out: Output | null): State {
    return new State(out, this.values)
  }

  dir (path: string): State {
    return this.with({ dir: resolvePath(this.values.dir, path) })
  }

  getDir (): string {
    return this.values.dir
  }

  addEnv (key: string, value: string): State {
    if (key === '') throw new TsbuildError('INVALID_INSTRUCTION', 'environment variable name must not be empty')
    return this.with({ env: setEnvVar(this.values.env, key, value) })
  }

  delEnv (key: string): State {
    return this.with({ env: this.values.env.filter((e) => e.key !== key) })
  }

  /** The same as {@link getEnv}: a State is the environment word expansion reads. */
  get (key: string): string | undefined {
    return this.getEnv(key)
  }

  getEnv (key: string): string | undefined {
    // A plain loop: word expansion asks for variables on every instruction,
    // and a stage's env can hold hundreds of them.
    const env = this.values.env
    for (let i = env.length - 1; i >= 0; i--) if (env[i]!.key === key) return env[i]!.value
    return undefined
  }

  /** `KEY=value` entries in order. */
  env (): string[] {
    return envEntries(this.values.env).slice()
  }

  user (user: string): State {
    return this.with({ user })
  }

  getUser (): string {
    return this.values.user
  }

  /** Platform for the ops created from here on (not for the op this State already points at). */
  platform (p: Platform | string): State {
    return this.with({ platform: toPlatform(p)! })
  }

  getPlatform (): Platform | undefined {
    return this.values.platform
  }

  hostname (hostname: string): State {
    return this.with({ hostname })
  }

  network (network: NetworkMode): State {
    return this.with({ network })
  }

  security (security: SecurityMode): State {
    return this.with({ security })
  }

  addExtraHost (host: string, ip: string): State {
    return this.with({ extraHosts: [...this.values.extraHosts, { host, ip }] })
  }

  /** Run a process with this State as its root filesystem. */
  run (opts: RunOptions): ExecState {
    const v = this.values
    const args = opts.args ?? (opts.shlex !== undefined ? shlexSplit(opts.shlex) : [])
    if (args.length === 0) throw new TsbuildError('INVALID_INSTRUCTION', 'run needs a command (args or shlex)')
    let env = v.env
    if (opts.env !== undefined) for (const [k, val] of Object.entries(opts.env)) env = setEnvVar(env, k, val)
    const hostname = opts.hostname ?? v.hostname
    // Built member by member rather than with spreads: a big Dockerfile makes
    // thousands of these, mostly before the code is optimised.
    const meta: { -readonly [K in keyof ExecMeta]: ExecMeta[K] } = {
      args: args.slice(),
      env: envEntries(env),
      cwd: opts.cwd !== undefined ? resolvePath(v.dir, opts.cwd) : v.dir,
      user: opts.user ?? v.user,
      extraHosts: opts.extraHosts === undefined || opts.extraHosts.length === 0 ? v.extraHosts : [...v.extraHosts, ...opts.extraHosts],
      secretEnv: opts.secretEnv ?? [],
    }
    if (hostname !== undefined) meta.hostname = hostname
    if (opts.proxyEnv !== undefined) meta.proxyEnv = opts.proxyEnv
    if (opts.ulimits !== undefined && opts.ulimits.length > 0) meta.ulimits = opts.ulimits
    const spec: { -readonly [K in keyof ExecSpec]: ExecSpec[K] } = {
      meta,
      root: this.out,
      readonlyRootfs: opts.readonlyRootfs ?? false,
      mounts: opts.mounts ?? [],
      network: opts.network ?? v.network,
      security: opts.security ?? v.security,
      metadata: pickMetadata(opts),
    }
    if (v.platform !== undefined) spec.platform = v.platform
    return new ExecState(new ExecVertex(spec), v)
  }

  /** Apply file actions (copy, mkdir, mkfile, rm, symlink) on top of this State. */
  file (actions: FileActionChain, metadata?: MetadataOptions): State {
    return this.withOutput({ vertex: new FileVertex(this, actions, pickMetadata(metadata)), index: 0 })
  }

  /**
   * Attach metadata to the op this State points at. The op and its digest
   * stay the same; metadata is merged when marshalled. Scratch has no op and
   * is returned unchanged.
   */
  withMetadata (metadata: OpMetadata): State {
    if (this.out === null) return this
    return this.withOutput({ vertex: new MetadataVertex(this.out.vertex, metadata), index: this.out.index })
  }

  withCustomName (name: string): State {
    return this.withMetadata({ customName: name })
  }

  withDescription (description: Readonly<Record<string, string>>): State {
    return this.withMetadata({ description })
  }

  withLocation (location: SourceLocation): State {
    return this.withMetadata({ locations: [location] })
  }

  /** Serialise the graph that produces this State; see {@link marshalDefinition}. */
  marshal (opts: MarshalOptions = {}): Definition {
    return marshalDefinition(this.out, opts)
  }

  protected with (patch: Partial<StateValues>): State {
    return new State(this.out, { ...this.values, ...patch })
  }
}

/**
 * The State of a run's root filesystem (output 0), plus access to the
 * run's other writable mounts.
 */
export class ExecState extends State {
  constructor (private readonly exec: ExecVertex, values: StateValues) {
    super({ vertex: exec, index: 0 }, values)
  }

  root (): State {
    return this.withOutput({ vertex: this.exec, index: 0 })
  }

  /**
   * The state of the writable bind mount at `dest` after the run. Throws
   * when that mount has no output (read-only, cache, tmpfs, … or absent).
   */
  getMount (dest: string): State {
    const index = this.exec.outputFor(dest)
    if (index === undefined) throw new TsbuildError('INVALID_INSTRUCTION', `run has no writable mount with an output at ${dest}`)
    return this.withOutput({ vertex: this.exec, index })
  }
}
