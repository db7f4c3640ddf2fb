/**
 * Typed Dockerfile instructions. Strings are raw (unexpanded, quotes kept where
 * BuildKit keeps them): word expansion happens during conversion, so the same
 * instruction can be expanded per stage and per platform.
 */
import type { SourceRange } from '../../../common/errors.js'
import type { Directive, Heredoc, ParseWarning } from '../parser/index.js'

interface InstructionBase {
  range: SourceRange
  /** The logical source line, continuations joined. */
  original: string
}

/** Shell form (`json: false`, one string in `args`) or exec form (JSON array). */
export interface CommandLine {
  args: string[]
  json: boolean
}

export type MountType = 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh'
export type CacheSharing = 'shared' | 'private' | 'locked'

/** One `--mount=…` of RUN, with BuildKit's defaults applied (e.g. bind/secret/ssh read-only). */
export interface RunMount {
  type: MountType
  target?: string
  source?: string
  from?: string
  readOnly: boolean
  /** cache: `id`; secret/ssh: `id`. */
  id?: string
  sharing?: CacheSharing
  /** cache: context files that key the mount's contents in a portable cache (`key-from=`, repeatable). */
  keyFrom?: string[]
  /** tmpfs size limit in bytes. */
  sizeLimit?: number
  required?: boolean
  env?: string
  mode?: number
  uid?: number
  gid?: number
}

export type RunNetwork = 'default' | 'none' | 'host'
export type RunSecurity = 'sandbox' | 'insecure'
export interface RunDevice { name: string; isRequired: boolean }

export interface FromInstruction extends InstructionBase {
  kind: 'from'
  image: string
  /** Lowercased stage name from `AS name`. */
  stageName?: string
  platform?: string
}

export interface RunInstruction extends InstructionBase, CommandLine {
  kind: 'run'
  /** Raw `--mount` values, for re-parsing after expansion (see parseRunMount). */
  mountSpecs: string[]
  /** Mounts parsed without expansion; fields holding `$` are left for conversion to fill in. */
  mounts: RunMount[]
  network?: RunNetwork
  security?: RunSecurity
  devices: RunDevice[]
  /** Bodies with `<<-` tab stripping already applied. */
  heredocs: Heredoc[]
}

export interface CmdInstruction extends InstructionBase, CommandLine { kind: 'cmd' }
export interface EntrypointInstruction extends InstructionBase, CommandLine { kind: 'entrypoint' }

export interface KeyValue { key: string; value: string }

export interface LabelInstruction extends InstructionBase { kind: 'label'; pairs: KeyValue[] }
export interface EnvInstruction extends InstructionBase { kind: 'env'; pairs: KeyValue[] }
export interface MaintainerInstruction extends InstructionBase { kind: 'maintainer'; maintainer: string }
export interface ExposeInstruction extends InstructionBase { kind: 'expose'; ports: string[] }

/** A heredoc used as a COPY/ADD source: a file named `path` holding `data`. */
export interface SourceContent { path: string; data: string; expand: boolean }

interface CopyLike extends InstructionBase {
  sources: string[]
  sourceContents: SourceContent[]
  dest: string
  /** Sources came from a JSON array. */
  json: boolean
  chown?: string
  /** Raw `--chmod`; see parseChmod for its validated form. */
  chmod?: string
  isLink: boolean
  excludes: string[]
}

export interface AddInstruction extends CopyLike {
  kind: 'add'
  keepGitDir: boolean
  checksum?: string
  unpack?: boolean
}

export interface CopyInstruction extends CopyLike {
  kind: 'copy'
  from?: string
  isParents: boolean
}

export interface VolumeInstruction extends InstructionBase { kind: 'volume'; paths: string[] }
export interface UserInstruction extends InstructionBase { kind: 'user'; user: string }
export interface WorkdirInstruction extends InstructionBase { kind: 'workdir'; path: string }

/** `ARG name` (no default: `value` undefined) or `ARG name=value`. */
export interface ArgDefinition { key: string; value?: string }
export interface ArgInstruction extends InstructionBase { kind: 'arg'; args: ArgDefinition[] }

export interface OnbuildInstruction extends InstructionBase {
  kind: 'onbuild'
  /** The trigger, already checked like a top-level instruction. */
  instruction: Instruction
  /** The trigger's own source text, as it will be replayed by a child build. */
  expression: string
}

export interface StopsignalInstruction extends InstructionBase { kind: 'stopsignal'; signal: string }

/** Durations in nanoseconds, as in the OCI image config; undefined when not given. */
export interface HealthcheckInstruction extends InstructionBase {
  kind: 'healthcheck'
  /** `NONE` disables the base image's check. */
  isNone: boolean
  test: CommandLine
  interval?: number
  timeout?: number
  startPeriod?: number
  startInterval?: number
  retries?: number
}

export interface ShellInstruction extends InstructionBase { kind: 'shell'; shell: string[] }

export type Instruction =
  | FromInstruction | RunInstruction | CmdInstruction | LabelInstruction | MaintainerInstruction
  | ExposeInstruction | EnvInstruction | AddInstruction | CopyInstruction | EntrypointInstruction
  | VolumeInstruction | UserInstruction | WorkdirInstruction | ArgInstruction | OnbuildInstruction
  | StopsignalInstruction | HealthcheckInstruction | ShellInstruction

export type InstructionKind = Instruction['kind']

export interface Stage {
  /** Lowercased `AS` name, if any. */
  name?: string
  index: number
  from: FromInstruction
  commands: Instruction[]
}

export interface Dockerfile {
  stages: Stage[]
  /** ARGs before the first FROM: usable in FROM lines only. */
  metaArgs: ArgInstruction[]
  directives: Directive[]
  warnings: ParseWarning[]
  escapeToken: '\\' | '`'
  /** The comment lines directly above an instruction, by the instruction's first line (for outline descriptions). */
  comments: Map<number, string[]>
}
