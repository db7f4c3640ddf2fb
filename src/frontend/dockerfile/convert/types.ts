/**
 * The contract between the Dockerfile converter and its caller (the CLI's
 * build command): what a conversion needs and what it produces.
 */
import type { Digest } from '../../../common/digest.js'
import type { SourceRange } from '../../../common/errors.js'
import type { ImageConfig } from '../../../common/oci.js'
import type { Platform } from '../../../common/platform.js'
import type { Definition, HostIp, NetworkMode, Ulimit } from '../../../llb/index.js'

/**
 * A `--build-context name=…` value. `oci-layout` contexts become image
 * sources whose reference is `oci-layout://<path>[:<ref>]`-free: see
 * ociLayoutImageRef in namedContext.ts for the encoding the solver resolves.
 */
export type NamedContext =
  | { kind: 'local'; path: string }
  | { kind: 'image'; ref: string }
  | { kind: 'oci-layout'; path: string; ref?: string; digest?: string }

export interface ResolvedImage {
  /** The normalised reference that was resolved. */
  ref: string
  /** Manifest digest for the requested platform. */
  digest: Digest
  config: ImageConfig
}

export interface ImageMetaResolver {
  /** The base image's manifest digest and config for one platform. Throws TsbuildError NOT_FOUND etc. */
  resolveImageConfig (ref: string, opts: { platform: Platform }): Promise<ResolvedImage>
}

export interface ConvertRequest {
  /** Dockerfile text. */
  dockerfile: string
  /** Display name for errors and metadata (`Dockerfile`, `-`, `ci/Dockerfile`). */
  file: string
  /** At least one. */
  targetPlatforms: Platform[]
  buildPlatform: Platform
  buildArgs: Map<string, string>
  target?: string
  /** `--label`, applied to the final image. */
  labels: Map<string, string>
  /** Already read from the context's ignore file by the caller. */
  dockerignorePatterns: string[]
  namedContexts: Map<string, NamedContext>
  /** Stage names whose vertices get ignoreCache metadata. */
  noCacheFilter: string[]
  imageResolver: ImageMetaResolver
  /** Seconds since the epoch; history and created times use it when given. */
  sourceDateEpoch?: number
  /** `--network`: the network mode of every RUN that does not set its own (default: `default`). */
  network?: NetworkMode
  /** `--add-host`: /etc/hosts entries of every RUN. */
  extraHosts?: HostIp[]
  /** `--shm-size`: bytes of the tmpfs at /dev/shm of every RUN; 0 or absent keeps the executor's (64 MiB). */
  shmSize?: number
  /** `--ulimit`: resource limits of every RUN, one per name. */
  ulimits?: Ulimit[]
}

/**
 * What `--add-host`, `--shm-size` and `--ulimit` give every RUN of a build
 * (and no other op), as BuildKit's Dockerfile frontend applies them.
 */
export interface BuildRunSettings {
  readonly extraHosts: readonly HostIp[]
  /** Bytes; 0 adds no /dev/shm mount. */
  readonly shmSize: number
  readonly ulimits: readonly Ulimit[]
}

export interface ConvertWarning {
  message: string
  range?: SourceRange
  rule?: string
}

export interface PlatformResult {
  platform: Platform
  definition: Definition
  /** Config and history to export; rootfs.diff_ids holds only the base image's layers (the exporter appends). */
  image: ImageConfig
}

export interface ConvertResult {
  platforms: PlatformResult[]
  warnings: ConvertWarning[]
  outline: Outline
}

export interface OutlineArg {
  name: string
  /** Default from the Dockerfile (after --build-arg overrides it is still the Dockerfile's default). */
  value?: string
  description?: string
  range?: SourceRange
}

export interface OutlineTarget {
  name?: string
  description?: string
  isDefault: boolean
  base: string
  platform?: string
  range: SourceRange
}

export interface OutlineUse {
  /** Secret or ssh id. */
  name: string
  isRequired: boolean
}

/** What `--call=outline` and `--call=targets` print. */
export interface Outline {
  /** The target stage's name, when it has one. */
  name?: string
  description?: string
  args: OutlineArg[]
  secrets: OutlineUse[]
  ssh: OutlineUse[]
  targets: OutlineTarget[]
}
