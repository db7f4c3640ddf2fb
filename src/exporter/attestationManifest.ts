import type { ContentStore } from '../cache/content/index.js'
import type { Platform } from '../common/platform.js'
import {
  ANNOTATION_PREDICATE_TYPE, ANNOTATION_REFERENCE_DIGEST, ANNOTATION_REFERENCE_TYPE, ATTESTATION_MANIFEST, IN_TOTO_MEDIA_TYPE, MediaType,
  type Descriptor, type ImageManifest,
} from '../common/oci.js'
import { TsbuildError } from '../common/errors.js'
import { digestSet, refToPurl, type InTotoStatement, type InTotoSubject } from './provenance.js'

const ATTESTATION_PLATFORM = { os: 'unknown', architecture: 'unknown' }

/**
 * Makes the attestations of one built platform image. The exporter gives the
 * subjects (the image's names with its manifest digest, or the files of a
 * local output); the maker adds what it knows of the build. Called once per
 * platform per output.
 */
export interface AttestationSource {
  /** Only on image outputs (type=image, registry), as BuildKit's inline-only. */
  readonly isInlineOnly: boolean
  statements (platform: Platform, subjects: InTotoSubject[]): InTotoStatement[]
}

/** The subjects of an image manifest: one per name, as a purl with the platform (none for an unnamed image, as in BuildKit). */
export function imageSubjects (names: readonly string[], platform: Platform, manifest: Descriptor): InTotoSubject[] {
  return names.map((name) => ({ name: refToPurl(name, platform), digest: digestSet(manifest.digest) }))
}

/**
 * Store an attestation manifest as BuildKit's attestation storage lays it
 * out: an OCI image manifest with one in-toto layer per statement and a
 * placeholder config (platform unknown/unknown, the layers as diff_ids).
 * Returns the descriptor for the index, with the annotations that tie it to
 * the image manifest it describes.
 */
export async function writeAttestationManifest (store: ContentStore, statements: readonly InTotoStatement[], target: Descriptor): Promise<Descriptor> {
  const layers: Descriptor[] = []
  for (const statement of statements) {
    const info = await store.writeBytes(Buffer.from(JSON.stringify(statement)))
    layers.push({ mediaType: IN_TOTO_MEDIA_TYPE, digest: info.digest, size: info.size, annotations: { [ANNOTATION_PREDICATE_TYPE]: statement.predicateType } })
  }
  // Key order as BuildKit's Go structs marshal them; the config is there for registries, not readers.
  const config = { architecture: ATTESTATION_PLATFORM.architecture, os: ATTESTATION_PLATFORM.os, config: {}, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } }
  const configInfo = await store.writeBytes(Buffer.from(JSON.stringify(config)))
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: configInfo.digest, size: configInfo.size },
    layers,
  }
  const info = await store.writeBytes(Buffer.from(JSON.stringify(manifest)))
  return {
    mediaType: MediaType.ociManifest,
    digest: info.digest,
    size: info.size,
    annotations: { [ANNOTATION_REFERENCE_DIGEST]: target.digest, [ANNOTATION_REFERENCE_TYPE]: ATTESTATION_MANIFEST },
    platform: { ...ATTESTATION_PLATFORM },
  }
}

/** As BuildKit: an attestation manifest is an OCI manifest, which an index of Docker media types cannot list. */
export function checkAttestationMediaTypes (ociMediaTypes: boolean, output: string): void {
  if (!ociMediaTypes) {
    throw new TsbuildError('USAGE', `${output}: cannot export attestations with oci-mediatypes=false`, { hint: 'drop oci-mediatypes=false, or turn provenance off (--provenance=false)' })
  }
}
