import type { Platform } from '../common/platform.js'
import type { Annotation } from '../exporter/annotations.js'
import type { ProvenanceOptions } from '../exporter/provenance.js'
import type { HostIp, Ulimit } from '../llb/index.js'

/**
 * Everything one build needs from its client. The engine reads nothing from
 * the process environment deep inside: context files, secrets, ssh sockets
 * and credentials all come through this request, so a daemon can serve the
 * same engine later.
 */
export interface BuildRequest {
  contextDir: string // absolute
  /** `tsbuild build -`: the context came from stdin; the CLI unpacks it into `contextDir` before anything reads it. */
  contextFromStdin?: boolean
  /**
   * A context from git, a URL or stdin as the user gave it (credentials
   * masked, `-` for stdin). Such a context is unpacked into a new temp dir
   * every build, so this, not `contextDir`, says which project a build is.
   */
  contextOrigin?: string
  dockerfile: DockerfileSource
  tags: string[]
  /** `--annotation`s, for every image output. */
  annotations: Annotation[]
  platforms: Platform[] // empty: the host platform
  buildArgs: Map<string, string>
  target?: string
  outputs: string[] // raw -o specs, parsed by the exporter (one parser, at the edge)
  push: boolean
  cacheFrom: CacheSpec[]
  cacheTo: CacheSpec[]
  noCache: boolean
  noCacheFilter: string[]
  secrets: SecretSpec[]
  ssh: SshSpec[]
  buildContexts: Map<string, NamedContext>
  progress: ProgressMode
  metadataFile?: string
  labels: Map<string, string>
  network: NetworkMode
  allow: Set<Entitlement>
  /** `--add-host`: /etc/hosts entries of every RUN. */
  extraHosts?: HostIp[]
  /** `--shm-size`: bytes of /dev/shm in every RUN; 0 or absent keeps the default (64 MiB). */
  shmSize?: number
  /** `--ulimit`: resource limits of every RUN, one per name. */
  ulimits?: Ulimit[]
  print?: 'llb'
  call: CallMode
  /** `--call=outline,format=json`: how outline and targets print (buildx's `format=` field of the call). */
  callFormat: 'text' | 'json'
  maxParallelism?: number
  explain: boolean
  /** `--pull`: base images by tag are resolved at their registry, never from the local image store. */
  pull: boolean
  /** `--iidfile`: where to write the image ID (the config digest of a one-platform image, else the index digest). */
  iidFile?: string
  /** `--provenance`/`--attest type=provenance`: a SLSA provenance attestation per platform image (off by default). */
  provenance?: ProvenanceOptions
}

export interface DockerfileSource {
  /** Path of the Dockerfile, or undefined when it came from stdin. */
  path?: string
  /** The name used in messages (`Dockerfile`, `ci/Dockerfile`); a Dockerfile from stdin is `Dockerfile`, as in buildx. */
  displayName: string
  /** `-f -`: read from stdin (into `content`). */
  fromStdin?: boolean
  content?: string // set when read from stdin
}

export type ProgressMode = 'auto' | 'tty' | 'plain' | 'rawjson' | 'quiet'
export type NetworkMode = 'default' | 'none' | 'host'
export type Entitlement = 'network.host' | 'security.insecure'
export type CallMode = 'build' | 'outline' | 'targets' | 'check'

export type SecretSpec =
  | { id: string; kind: 'file'; src: string }
  | { id: string; kind: 'env'; env: string }

export interface SshSpec { id: string; paths: string[] } // empty paths: $SSH_AUTH_SOCK

export type NamedContext =
  | { kind: 'local'; path: string }
  | { kind: 'image'; ref: string }
  | { kind: 'oci-layout'; path: string; ref?: string; digest?: string }

export type CacheMode = 'min' | 'max'
export type CacheSpec =
  | { type: 'local'; dir: string; mode: CacheMode; ignoreError: boolean; mounts: boolean; mountMaxSize?: number }
  | { type: 'registry'; ref: string; mode: CacheMode; ignoreError: boolean; mounts: boolean; mountMaxSize?: number }
  | { type: 'inline'; mode: 'min'; ignoreError: boolean; mounts: false }
