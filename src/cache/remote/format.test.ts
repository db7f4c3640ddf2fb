import { describe, expect, test } from 'vitest'
import { sha256, type Digest } from '../../common/digest.js'
import { cacheManifest, decodeCacheConfig, encodeCacheConfig, CACHE_ARTIFACT_TYPE, CACHE_CONFIG_MEDIA_TYPE, type CacheChain } from './format.js'

const layer = (n: string) => ({ descriptor: { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(`blob ${n}`), size: n.length }, diffID: sha256(`diff ${n}`) })
const chain = (k: string, ...ls: string[]): CacheChain => ({ key: sha256(k), layers: ls.map(layer), description: k })

describe('cache format', () => {
  test('shared layers are listed once and chains round-trip', () => {
    const chains = [chain('b', 'base', 'run'), chain('a', 'base')]
    const config = encodeCacheConfig(chains)
    expect(config.layers).toHaveLength(2)
    const back = decodeCacheConfig(JSON.parse(JSON.stringify(config)), 'test')
    expect(new Map(back.map((c) => [c.key, c]))).toEqual(new Map(chains.map((c) => [c.key, c])))
  })

  test('the manifest is plain OCI, lists every layer and is deterministic', () => {
    const a = cacheManifest(encodeCacheConfig([chain('x', 'l1', 'l2'), chain('y', 'l1')]))
    const b = cacheManifest(encodeCacheConfig([chain('y', 'l1'), chain('x', 'l1', 'l2')]))
    expect(a.manifest.equals(b.manifest)).toBe(true)
    const m = JSON.parse(a.manifest.toString()) as { mediaType: string; artifactType: string; config: { mediaType: string }; layers: unknown[] }
    expect(m).toMatchObject({ mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: CACHE_ARTIFACT_TYPE, config: { mediaType: CACHE_CONFIG_MEDIA_TYPE } })
    expect(m.layers).toHaveLength(2)
  })

  test.each([
    ['not an object', 'x', /not a JSON object/],
    ['a future version', { schemaVersion: 2, layers: [], records: [] }, /unsupported schemaVersion 2/],
    ['a dangling layer index', { schemaVersion: 1, layers: [], records: [{ key: sha256('k'), layers: [0] }] }, /refers to layer 0/],
    ['a bad digest', { schemaVersion: 1, layers: [{ descriptor: { digest: 'md5:x', size: 1, mediaType: 'm' }, diffID: sha256('d') }], records: [] }, /layer entry is malformed/],
    ['a bad key', { schemaVersion: 1, layers: [], records: [{ key: 'nope' as Digest, layers: [] }] }, /record is malformed/],
  ])('refuses %s', (_name, value, message) => {
    expect(() => decodeCacheConfig(value, 'registry r')).toThrow(message)
  })
})
