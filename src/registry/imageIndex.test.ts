import { describe, expect, test } from 'vitest'
import { sha256 } from '../common/digest.js'
import { hasCode } from '../common/errors.js'
import { MediaType, type Descriptor, type ImageIndex } from '../common/oci.js'
import { combineIndex, parseIndexAnnotation, type IndexSource } from './imageIndex.js'
import { parseReference } from './reference.js'

const REF = parseReference('127.0.0.1:5000/ci/app')
const OTHER = parseReference('127.0.0.1:5000/ci/other')

function manifestSource (arch: string, opts: { mediaType?: string; variant?: string; ref?: typeof REF } = {}): IndexSource {
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: opts.mediaType ?? MediaType.ociManifest, config: { digest: sha256(arch) }, layers: [] }))
  const platform = { os: 'linux', architecture: arch, ...(opts.variant !== undefined ? { variant: opts.variant } : {}) }
  return { ref: opts.ref ?? REF, bytes, descriptor: { mediaType: opts.mediaType ?? MediaType.ociManifest, digest: sha256(bytes), size: bytes.length, platform } }
}

function indexSource (manifests: Descriptor[], ref = REF): IndexSource {
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests }))
  return { ref, bytes, descriptor: { mediaType: MediaType.ociIndex, digest: sha256(bytes), size: bytes.length } }
}

const parse = (b: Buffer): ImageIndex => JSON.parse(b.toString('utf8')) as ImageIndex

function thrown (fn: () => unknown): Error {
  try { fn() } catch (err) { return err as Error }
  throw new Error('expected a throw')
}

describe('combineIndex', () => {
  test('two manifests become an OCI index, in source order, digest over the exact bytes', () => {
    const amd = manifestSource('amd64')
    const arm = manifestSource('arm64')
    const out = combineIndex([amd, arm])
    const idx = parse(out.bytes)
    expect(out.descriptor).toEqual({ mediaType: MediaType.ociIndex, digest: sha256(out.bytes), size: out.bytes.length })
    expect(idx.mediaType).toBe(MediaType.ociIndex)
    expect(idx.manifests.map((m) => [m.digest, m.platform?.architecture])).toEqual([[amd.descriptor.digest, 'amd64'], [arm.descriptor.digest, 'arm64']])
    expect(idx.annotations).toBeUndefined()
    // Go's field order and two-space indentation, as buildx prints with --dry-run
    expect(out.bytes.toString()).toMatch(/^\{\n {2}"schemaVersion": 2,\n {2}"mediaType": "application\/vnd\.oci\.image\.index\.v1\+json",\n {2}"manifests": \[/)
    expect(Object.keys(idx.manifests[0]!)).toEqual(['mediaType', 'digest', 'size', 'platform'])
    expect(Object.keys(idx.manifests[0]!.platform!)).toEqual(['architecture', 'os'])
  })

  test('only Docker manifests make a Docker manifest list', () => {
    const out = combineIndex([manifestSource('amd64', { mediaType: MediaType.dockerManifest }), manifestSource('arm64', { mediaType: MediaType.dockerManifest })])
    expect(out.descriptor.mediaType).toBe(MediaType.dockerManifestList)
    expect(combineIndex([manifestSource('amd64', { mediaType: MediaType.dockerManifest }), manifestSource('arm64')]).descriptor.mediaType).toBe(MediaType.ociIndex)
  })

  test('an index source gives its manifests (attestations too); the same digest twice is kept once with both annotations', () => {
    const amd = manifestSource('amd64')
    const arm = manifestSource('arm64')
    const att: Descriptor = { mediaType: MediaType.ociManifest, digest: sha256('att'), size: 10, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': amd.descriptor.digest } }
    const att2: Descriptor = { ...att, digest: sha256('att2') }
    const existing = indexSource([{ ...amd.descriptor, annotations: { a: '1' } }, att])
    const out = parse(combineIndex([existing, { ...amd, descriptor: { ...amd.descriptor, annotations: { b: '2' } } }, arm, indexSource([att2])]).bytes)
    expect(out.manifests.map((m) => m.digest)).toEqual([amd.descriptor.digest, att.digest, arm.descriptor.digest, att2.digest])
    expect(out.manifests[0]!.annotations).toEqual({ a: '1', b: '2' })
  })

  test.each([
    ['the same platform twice', [manifestSource('amd64'), { ...manifestSource('amd64'), bytes: Buffer.from('x'), descriptor: { ...manifestSource('amd64').descriptor, digest: sha256('x') } }], 'linux/amd64'],
    ['arm64 and arm64/v8 (one platform, normalised)', [manifestSource('arm64'), manifestSource('arm64', { variant: 'v8', ref: OTHER, mediaType: MediaType.dockerManifest })], 'linux/arm64'],
  ])('refuses %s', (_what, sources, platform) => {
    const err = thrown(() => combineIndex(sources))
    expect(hasCode(err, 'CONFLICT')).toBe(true)
    expect(err.message).toContain(`two different manifests for platform ${platform}`)
    expect(err.message).toContain('127.0.0.1:5000/ci/app')
  })

  test('one index source without annotations is copied byte for byte; one manifest is wrapped unless preferIndex is false', () => {
    const idx = indexSource([manifestSource('amd64').descriptor])
    expect(combineIndex([idx])).toEqual({ bytes: idx.bytes, descriptor: { mediaType: MediaType.ociIndex, digest: idx.descriptor.digest, size: idx.bytes.length } })
    const one = manifestSource('amd64')
    expect(parse(combineIndex([one]).bytes).manifests).toHaveLength(1)
    const copied = combineIndex([one], { preferIndex: false })
    expect(copied.bytes).toBe(one.bytes)
    expect(copied.descriptor.digest).toBe(one.descriptor.digest)
  })

  test('index and manifest-descriptor annotations, per platform or for all', () => {
    const out = parse(combineIndex([manifestSource('amd64'), manifestSource('arm64')], {
      annotations: ['index:org.opencontainers.image.version=1.0', 'manifest-descriptor:team=core', 'manifest-descriptor[linux/arm64]:note=arm'].map(parseIndexAnnotation),
    }).bytes)
    expect(out.annotations).toEqual({ 'org.opencontainers.image.version': '1.0' })
    expect(out.manifests.map((m) => m.annotations)).toEqual([{ team: 'core' }, { note: 'arm', team: 'core' }])
  })

  test('annotations on a Docker manifest list are refused, not dropped', () => {
    const err = thrown(() => combineIndex([manifestSource('amd64', { mediaType: MediaType.dockerManifest })], { annotations: [parseIndexAnnotation('index:a=b')] }))
    expect(hasCode(err, 'USAGE')).toBe(true)
    expect(err.message).toContain('Docker manifest list holds no annotations')
  })
})

describe('parseIndexAnnotation', () => {
  test.each([
    ['index:a.b=c=d', { type: 'index', key: 'a.b', value: 'c=d' }],
    ['manifest-descriptor:k=', { type: 'manifest-descriptor', key: 'k', value: '' }],
    ['manifest-descriptor[linux/arm64/v8]:k=v', { type: 'manifest-descriptor', platform: { os: 'linux', architecture: 'arm64' }, key: 'k', value: 'v' }],
  ])('%s', (spec, want) => {
    expect(parseIndexAnnotation(spec)).toEqual(want)
  })

  test.each([
    ['k=v', 'without a type'],
    ['manifest:k=v', '"manifest" annotations'],
    ['index-descriptor:k=v', '"index-descriptor" annotations'],
    ['bogus:k=v', 'unknown type "bogus"'],
    ['index[linux/amd64]:k=v', 'takes no platform'],
    ['index:k', 'expected'],
  ])('refuses %s', (spec, cause) => {
    const err = thrown(() => parseIndexAnnotation(spec))
    expect(hasCode(err, 'USAGE')).toBe(true)
    expect(err.message).toContain(cause)
  })
})
