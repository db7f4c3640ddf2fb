import { describe, expect, test } from 'vitest'
import { sha256 } from '../common/digest.js'
import { MediaType } from '../common/oci.js'
import { parseManifestBytes, parseReference } from '../registry/index.js'
import { attestationView, formatInspectText, goJson } from './imagetoolsInspect.js'

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

describe('attestationView', () => {
  const slsa = (tag: string): unknown => ({ buildType: 'https://mobyproject.org/buildkit@v1', builder: { id: tag } })
  test.each([
    ['one platform with provenance: its stub', 'Provenance', [['linux/amd64', [[slsa('a')]]]], { SLSA: { buildType: 'https://mobyproject.org/buildkit@v1', builder: { id: 'a' } } }],
    ['one platform without: an empty stub', 'Provenance', [['linux/amd64', []]], {}],
    ['a single manifest (no index): an empty stub', 'SBOM', [['', []]], {}],
    ['no image platform at all: an empty stub', 'Provenance', [], {}],
    ['two platforms: keyed by platform, sorted', 'Provenance', [['linux/arm64', [[slsa('arm')]]], ['linux/amd64', [[slsa('amd')]]]],
      { 'linux/amd64': { SLSA: slsa('amd') }, 'linux/arm64': { SLSA: slsa('arm') } }],
    ['two platforms, one attested: the other left out', 'Provenance', [['linux/amd64', [[slsa('amd')]]], ['linux/arm64', [[]]]], { 'linux/amd64': { SLSA: slsa('amd') } }],
    ['two platforms without SBOMs: an empty object', 'SBOM', [['linux/amd64', [[]]], ['linux/arm64', []]], {}],
    ['provenance in two attestation manifests: the last one wins, first statement of it', 'Provenance', [['linux/amd64', [[slsa('1')], [slsa('2'), slsa('3')]]]], { SLSA: slsa('2') }],
    ['several SBOMs: the first as SPDX, the rest as AdditionalSPDXs', 'SBOM', [['linux/amd64', [[{ n: 1 }], [{ n: 2 }, { n: 3 }]]]], { SPDX: { n: 1 }, AdditionalSPDXs: [{ n: 2 }, { n: 3 }] }],
  ] as const)('%s', (_what, kind, entries, want) => {
    const view = attestationView(kind, new Map(entries as unknown as Array<[string, unknown[][]]>))
    expect(view).toEqual(want)
  })

  test('predicate keys are sorted as Go marshals a decoded map; the stub fields keep their order', () => {
    const view = attestationView('SBOM', new Map([['linux/amd64', [[{ z: 1, a: { y: 2, b: [{ d: 1, c: 2 }] } }, { b: 1, a: 2 }]]]]))
    expect(goJson(view)).toBe(JSON.stringify({ SPDX: { a: { b: [{ c: 2, d: 1 }], y: 2 }, z: 1 }, AdditionalSPDXs: [{ a: 2, b: 1 }] }, null, 2))
  })
})

describe('goJson', () => {
  test('escapes <, >, & and U+2028/9 as Go does, indents by two spaces', () => {
    expect(goJson({ a: '<b>&\u2028\u2029' })).toBe('{\n  "a": "\\u003cb\\u003e\\u0026\\u2028\\u2029"\n}')
    expect(JSON.parse(goJson({ a: '<b>&\u2028' }))).toEqual({ a: '<b>&\u2028' })
  })
})
