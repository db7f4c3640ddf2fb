import { describe, expect, test } from 'vitest'
import { sha256 } from '../common/digest.js'
import { MediaType } from '../common/oci.js'
import { parseManifestBytes, parseReference } from '../registry/index.js'
import { formatInspectText } from './imagetoolsInspect.js'

const ref = parseReference('127.0.0.1:5000/ci/app:1')

describe('formatInspectText', () => {
  test('an index: the label column is one space wider than its widest label, per tabwriter block; annotations sorted', () => {
    const amd = sha256('amd')
    const att = sha256('att')
    const bytes = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [
        { mediaType: MediaType.ociManifest, digest: amd, size: 1, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
        { mediaType: MediaType.ociManifest, digest: att, size: 1, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': amd } },
      ],
    }))
    const doc = parseManifestBytes(bytes, { image: 'x' })
    expect(formatInspectText(ref, doc)).toBe([
      'Name:      127.0.0.1:5000/ci/app:1',
      'MediaType: application/vnd.oci.image.index.v1+json',
      `Digest:    ${sha256(bytes)}`,
      '           ',
      'Manifests: ',
      `  Name:        127.0.0.1:5000/ci/app:1@${amd}`,
      '  MediaType:   application/vnd.oci.image.manifest.v1+json',
      '  Platform:    linux/arm/v7',
      '               ',
      `  Name:        127.0.0.1:5000/ci/app:1@${att}`,
      '  MediaType:   application/vnd.oci.image.manifest.v1+json',
      '  Platform:    unknown/unknown',
      '  Annotations: ',
      `    vnd.docker.reference.digest: ${amd}`,
      '    vnd.docker.reference.type:   attestation-manifest',
      '',
    ].join('\n'))
  })

  test('a single manifest: the header alone', () => {
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.dockerManifest, config: { mediaType: MediaType.dockerConfig, digest: sha256('c'), size: 1 }, layers: [] }))
    expect(formatInspectText(ref, parseManifestBytes(bytes, { image: 'x' }))).toBe(`Name:      127.0.0.1:5000/ci/app:1\nMediaType: ${MediaType.dockerManifest}\nDigest:    ${sha256(bytes)}\n`)
  })
})
