import type { Digest } from './digest.js'
import type { Platform } from './platform.js'

/** Media types tsbuild reads and writes (OCI image-spec and Docker schema2). */
export const MediaType = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
} as const

export const INDEX_MEDIA_TYPES: readonly string[] = [MediaType.ociIndex, MediaType.dockerManifestList]
export const MANIFEST_MEDIA_TYPES: readonly string[] = [MediaType.ociManifest, MediaType.dockerManifest]

/** BuildKit's attestation storage: in-toto statements in a manifest beside the image they describe. */
export const IN_TOTO_MEDIA_TYPE = 'application/vnd.in-toto+json'
export const ANNOTATION_REFERENCE_TYPE = 'vnd.docker.reference.type'
export const ANNOTATION_REFERENCE_DIGEST = 'vnd.docker.reference.digest'
export const ANNOTATION_PREDICATE_TYPE = 'in-toto.io/predicate-type'
export const ATTESTATION_MANIFEST = 'attestation-manifest'

/**
 * An index entry that is not a runnable image: an attestation manifest
 * (marked by its reference type, listed as `unknown/unknown`). Platform
 * selection, image listings and index joins pass over these.
 */
export function isAttestationEntry (d: Pick<Descriptor, 'annotations' | 'platform'>): boolean {
  return d.annotations?.[ANNOTATION_REFERENCE_TYPE] !== undefined || d.platform?.os === 'unknown'
}

export interface Descriptor {
  mediaType: string
  digest: Digest
  size: number
  urls?: string[]
  annotations?: Record<string, string>
  platform?: Platform & { 'os.version'?: string; 'os.features'?: string[] }
  artifactType?: string
}

export interface ImageManifest {
  schemaVersion: 2
  mediaType?: string
  artifactType?: string
  config: Descriptor
  layers: Descriptor[]
  subject?: Descriptor
  annotations?: Record<string, string>
}

export interface ImageIndex {
  schemaVersion: 2
  mediaType?: string
  artifactType?: string
  manifests: Descriptor[]
  subject?: Descriptor
  annotations?: Record<string, string>
}

export interface HealthConfig {
  Test?: string[]
  Interval?: number // nanoseconds, as Docker writes it
  Timeout?: number
  StartPeriod?: number
  StartInterval?: number
  Retries?: number
}

/** The `config` member of an image config (Docker's container config subset). */
export interface ContainerConfig {
  User?: string
  ExposedPorts?: Record<string, object>
  Env?: string[]
  Entrypoint?: string[] | null
  Cmd?: string[] | null
  Volumes?: Record<string, object>
  WorkingDir?: string
  Labels?: Record<string, string>
  StopSignal?: string
  ArgsEscaped?: boolean
  Healthcheck?: HealthConfig
  OnBuild?: string[] | null
  Shell?: string[]
}

export interface HistoryEntry {
  created?: string
  created_by?: string
  author?: string
  comment?: string
  empty_layer?: boolean
}

export interface ImageConfig {
  created?: string
  author?: string
  architecture: string
  os: string
  variant?: string
  'os.version'?: string
  config?: ContainerConfig
  rootfs: { type: 'layers'; diff_ids: Digest[] }
  history?: HistoryEntry[]
}

/** `index.json` of an OCI image layout. */
export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name'
export const ANNOTATION_CREATED = 'org.opencontainers.image.created'
