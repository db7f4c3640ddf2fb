import type { Digest } from '../common/digest.js'
import type { SourceRange } from '../common/errors.js'
import type { Platform } from '../common/platform.js'

/**
 * The LLB op types: immutable values, discriminated on `kind`, that together
 * form a build graph. An op refers to its inputs by {@link Edge} (the digest of
 * the producing vertex plus one of its output indices), so an op's digest
 * covers its whole history. Everything that must not change identity
 * (names, source locations, progress grouping, ignore-cache) lives in
 * {@link OpMetadata} beside the op, never inside it.
 */

/** One output of a vertex: the producing op's digest plus the output index (BuildKit pb.Input). */
export interface Edge {
  readonly digest: Digest
  readonly index: number
}

/** Marks "no input": the mount or file action starts from an empty directory (scratch). */
export const SCRATCH_INPUT = -1
/** Marks "no output": the mount's or file action's result is discarded / internal. */
export const SKIP_OUTPUT = -1

/** Where an op may run (BuildKit pb.WorkerConstraints); every filter must match. */
export interface Constraints {
  readonly workerFilter?: readonly string[]
}

interface OpBase {
  /**
   * Inputs, deduplicated: each distinct edge appears once and mounts / file
   * actions refer to it by position in this list.
   */
  readonly inputs: readonly Edge[]
  /** The platform the op produces for; absent when the result does not depend on one. */
  readonly platform?: Platform
  readonly constraints?: Constraints
}

// ---------------------------------------------------------------- sources

export type ImageResolveMode = 'default' | 'pull' | 'local'

export interface ImageSourceAttrs {
  readonly type: 'image'
  /** Fully normalised reference, e.g. `docker.io/library/alpine:3.20` (tag and/or `@sha256:`). */
  readonly ref: string
  /** `default`: use a local copy when present, else pull; `pull`: always check the registry. */
  readonly resolveMode: ImageResolveMode
}

export interface LocalSourceAttrs {
  readonly type: 'local'
  /** Name of the client-side directory (`context`, `dockerfile`, a named context …). */
  readonly name: string
  /** Gitignore-style patterns; order matters (`!` re-includes). */
  readonly includePatterns: readonly string[]
  readonly excludePatterns: readonly string[]
  /** Paths that must be transferred (with their symlink targets); unordered. */
  readonly followPaths: readonly string[]
  /** Lets transfers of the same directory under different options share a cache. */
  readonly sharedKeyHint?: string
}

export interface HttpSourceAttrs {
  readonly type: 'http'
  readonly url: string
  /** When set, the download must hash to this digest. */
  readonly checksum?: Digest
  /** Name of the single file in the output (default: last URL path segment, else `index`). */
  readonly filename?: string
  /** Permission bits of the file (default 0o600, as BuildKit). */
  readonly chmod?: number
  readonly uid?: number
  readonly gid?: number
}

export interface GitSourceAttrs {
  readonly type: 'git'
  /** Remote as given, e.g. `https://github.com/moby/buildkit.git` or `git@host:repo`. */
  readonly remote: string
  /** Branch, tag or commit; absent means the remote's HEAD. */
  readonly ref?: string
  /** Sub-directory of the checkout that becomes the output root. */
  readonly subdir?: string
  readonly keepGitDir: boolean
}

export type SourceAttrs = ImageSourceAttrs | LocalSourceAttrs | HttpSourceAttrs | GitSourceAttrs

/**
 * Brings content into the graph. `identifier` is BuildKit's scheme URL
 * (`docker-image://…`, `local://…`, `https://…`, `git://…`) for display and
 * compatibility; `attrs` carries the typed details. Has no inputs.
 */
export interface SourceOp extends OpBase {
  readonly kind: 'source'
  readonly identifier: string
  readonly attrs: SourceAttrs
}

// ---------------------------------------------------------------- exec

/** `default` is the sandbox network namespace of the executor. */
export type NetworkMode = 'default' | 'host' | 'none'
export type SecurityMode = 'sandbox' | 'insecure'
export type CacheSharingMode = 'shared' | 'private' | 'locked'

/**
 * Proxy settings are kept apart from `env` because they do not change what a
 * step produces: the solver's cache key drops them (as BuildKit's CacheMap does).
 */
export interface ProxyEnv {
  readonly httpProxy?: string
  readonly httpsProxy?: string
  readonly ftpProxy?: string
  readonly noProxy?: string
  readonly allProxy?: string
}

export interface HostIp {
  readonly host: string
  readonly ip: string
}

/** The resource limits a step may set, named as docker's `--ulimit` names them (RLIMIT_<NAME> in upper case). */
export const ULIMIT_NAMES = [
  'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack',
] as const
export type UlimitName = typeof ULIMIT_NAMES[number]

/** One resource limit of a step's process; -1 is unlimited. */
export interface Ulimit {
  readonly name: UlimitName
  readonly soft: number
  readonly hard: number
}

/** A secret exposed as an environment variable rather than a file. */
export interface SecretEnv {
  readonly id: string
  readonly name: string
  readonly optional: boolean
}

export interface ExecMeta {
  readonly args: readonly string[]
  /** `KEY=value` entries in order; one entry per key. */
  readonly env: readonly string[]
  /** Absolute working directory. */
  readonly cwd: string
  /** `user[:group]`, names or ids; empty means root. */
  readonly user: string
  readonly hostname?: string
  readonly proxyEnv?: ProxyEnv
  readonly extraHosts: readonly HostIp[]
  readonly secretEnv: readonly SecretEnv[]
  /** Resource limits in the order given; absent or empty leaves the executor's defaults. */
  readonly ulimits?: readonly Ulimit[]
}

interface MountBase {
  /** Absolute path inside the container. */
  readonly dest: string
  /** Index into `inputs`, or SCRATCH_INPUT. */
  readonly input: number
  /** Output index this mount's final state is exported as, or SKIP_OUTPUT. */
  readonly output: number
  readonly readonly: boolean
  /** Sub-path of the input to mount instead of its root. */
  readonly selector?: string
}

export interface BindMount extends MountBase { readonly type: 'bind' }
export interface CacheMount extends MountBase {
  readonly type: 'cache'
  readonly cacheId: string
  readonly sharing: CacheSharingMode
  /**
   * Context files whose checksum, with the id, keys the mount's contents in a
   * portable cache (`--cache-to …,mounts=true`). Never part of the step's cache key.
   */
  readonly keyFrom?: readonly string[]
}
export interface TmpfsMount extends MountBase {
  readonly type: 'tmpfs'
  /** Bytes; absent means the kernel default. */
  readonly size?: number
}
export interface SecretMount extends MountBase {
  readonly type: 'secret'
  readonly secretId: string
  readonly uid: number
  readonly gid: number
  readonly mode: number
  readonly optional: boolean
}
export interface SshMount extends MountBase {
  readonly type: 'ssh'
  readonly sshId: string
  readonly uid: number
  readonly gid: number
  readonly mode: number
  readonly optional: boolean
}
export type Mount = BindMount | CacheMount | TmpfsMount | SecretMount | SshMount
export type MountType = Mount['type']

/**
 * Runs a process. Mounts are sorted by `dest`, so the root mount (`/`) comes
 * first and is output 0; every other mount with an output gets the next
 * index in that order. Cache, tmpfs, secret and ssh mounts never have outputs.
 */
export interface ExecOp extends OpBase {
  readonly kind: 'exec'
  readonly meta: ExecMeta
  readonly mounts: readonly Mount[]
  readonly network: NetworkMode
  readonly security: SecurityMode
}

// ---------------------------------------------------------------- file

/** `user`/`group` are ids, or names resolved against the action's base input's /etc/passwd and /etc/group. */
export interface ChownOpt {
  readonly user: number | string
  readonly group?: number | string
}

export interface CopyAction {
  readonly type: 'copy'
  /** Absolute path in the secondary input; may hold wildcards when `allowWildcard`. */
  readonly src: string
  /** Absolute path in the base input; a trailing `/` means "into this directory". */
  readonly dest: string
  readonly owner?: ChownOpt
  /** Permission bits for everything copied (octal number, or a symbolic `u+x,g-w` string); absent keeps the source modes. */
  readonly mode?: number | string
  readonly followSymlink: boolean
  /** Copy the contents of a source directory rather than the directory itself. */
  readonly dirCopyContents: boolean
  /** Unpack a source archive (ADD semantics). */
  readonly attemptUnpack: boolean
  readonly createDestPath: boolean
  readonly allowWildcard: boolean
  readonly allowEmptyWildcard: boolean
  readonly includePatterns: readonly string[]
  readonly excludePatterns: readonly string[]
  readonly alwaysReplaceExistingDestPaths: boolean
  /** Keep the source's parent directories below the wildcard root (COPY --parents). */
  readonly parents: boolean
}

export interface MkdirAction {
  readonly type: 'mkdir'
  readonly path: string
  readonly mode: number
  readonly makeParents: boolean
  readonly owner?: ChownOpt
}

export interface MkfileAction {
  readonly type: 'mkfile'
  readonly path: string
  readonly mode: number
  /** File content; `dataEncoding` says whether it is UTF-8 text or base64 bytes. */
  readonly data: string
  readonly dataEncoding: 'utf8' | 'base64'
  readonly owner?: ChownOpt
}

export interface RmAction {
  readonly type: 'rm'
  readonly path: string
  readonly allowNotFound: boolean
  readonly allowWildcard: boolean
}

export interface SymlinkAction {
  readonly type: 'symlink'
  /** The link target, stored as is. */
  readonly oldpath: string
  /** Absolute path of the link to create. */
  readonly newpath: string
  readonly owner?: ChownOpt
}

export type FileActionSpec = CopyAction | MkdirAction | MkfileAction | RmAction | SymlinkAction

/**
 * One step of a FileOp. `input` (the base the action applies to) and
 * `secondaryInput` (a copy's source) are BuildKit-style indices: values below
 * `inputs.length` name an op input; `inputs.length + k` names the result of
 * action k (which must come earlier); SCRATCH_INPUT is an empty directory.
 * `output` is the op output index this action's result is exported as, or
 * SKIP_OUTPUT.
 */
export interface FileAction {
  readonly input: number
  readonly secondaryInput: number
  readonly output: number
  readonly action: FileActionSpec
}

export interface FileOp extends OpBase {
  readonly kind: 'file'
  readonly actions: readonly FileAction[]
}

// ---------------------------------------------------------------- merge / diff

/** Layers its inputs in order, later ones on top (BuildKit MergeOp). Output 0. */
export interface MergeOp extends OpBase {
  readonly kind: 'merge'
}

/**
 * The changes that turn `lower` into `upper` (BuildKit DiffOp); either may be
 * SCRATCH_INPUT. Indices refer to `inputs`. Output 0.
 */
export interface DiffOp extends OpBase {
  readonly kind: 'diff'
  readonly lower: number
  readonly upper: number
}

export type Op = SourceOp | ExecOp | FileOp | MergeOp | DiffOp
export type OpKind = Op['kind']

// ---------------------------------------------------------------- metadata

/** A place in a source file (usually the Dockerfile) an op came from. */
export interface SourceLocation {
  readonly file: string
  readonly ranges: readonly SourceRange[]
}

export interface ProgressGroup {
  readonly id: string
  readonly name: string
  /** A weak group only applies when the vertex is not also in a strong one. */
  readonly weak?: boolean
}

/** Data kept beside an op; never part of its digest. */
export interface OpMetadata {
  /** Display name, e.g. `[build 3/5] RUN make`. */
  readonly customName?: string
  readonly description?: Readonly<Record<string, string>>
  readonly locations?: readonly SourceLocation[]
  readonly progressGroup?: ProgressGroup
  /** Run even when a cache record exists. */
  readonly ignoreCache?: boolean
}
