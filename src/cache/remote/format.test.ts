import { describe, expect, test } from 'vitest'
import { sha256, type Digest } from '../../common/digest.js'
import { newestPerMount } from './exporter.js'
import { cacheManifest, cacheMountKey, decodeCacheConfig, decodeCacheContents, encodeCacheConfig, CACHE_ARTIFACT_TYPE, CACHE_CONFIG_MEDIA_TYPE, type CacheChain, type CacheMountContents } from './format.js'

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

  test('layer times round-trip; a time that is not RFC 3339 is refused (it would go into image configs)', () => {
    const timed = { key: sha256('t'), layers: [{ ...layer('base'), createdAt: '2024-05-01T10:00:00.123Z' }] }
    const back = decodeCacheConfig(JSON.parse(JSON.stringify(encodeCacheConfig([timed]))), 'test')
    expect(back[0]!.layers[0]!.createdAt).toBe('2024-05-01T10:00:00.123Z')
    const bad = JSON.parse(JSON.stringify(encodeCacheConfig([timed]))) as { layers: Array<{ createdAt: unknown }> }
    bad.layers[0]!.createdAt = 'yesterday"}'
    expect(() => decodeCacheConfig(bad, 'ci')).toThrow(/cache ci: layer sha256:\w+ has a malformed createdAt/)
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

  test('cache mounts round-trip, share the layer table and are listed in the manifest', () => {
    const mounts: CacheMountContents[] = [
      { key: cacheMountKey('/root/.npm', sha256('lock v2')), id: '/root/.npm', layer: layer('npm'), createdAt: '2024-01-02T00:00:00.000Z' },
      { key: cacheMountKey('apt'), id: 'apt', layer: layer('base'), createdAt: '2024-01-01T00:00:00.000Z' },
    ]
    const config = encodeCacheConfig([chain('a', 'base')], mounts)
    expect(config.layers).toHaveLength(2)
    const back = decodeCacheContents(JSON.parse(JSON.stringify(config)), 'test')
    expect(new Map(back.mounts.map((m) => [m.key, m]))).toEqual(new Map(mounts.map((m) => [m.key, m])))
    expect((JSON.parse(cacheManifest(config).manifest.toString()) as { layers: unknown[] }).layers).toHaveLength(2)
  })

  test('a cache without mounts encodes as before (no mounts field)', () => {
    expect(Object.keys(encodeCacheConfig([chain('a', 'base')]))).not.toContain('mounts')
    expect(decodeCacheContents(encodeCacheConfig([chain('a', 'base')]), 't').mounts).toEqual([])
  })

  test('mount keys differ by id and by the key-from checksum', () => {
    const keys = new Set([cacheMountKey('a'), cacheMountKey('b'), cacheMountKey('a', sha256('1')), cacheMountKey('a', sha256('2'))])
    expect(keys.size).toBe(4)
    expect(cacheMountKey('a', sha256('1'))).toBe(cacheMountKey('a', sha256('1')))
  })

  test('a dangling mount layer index is refused', () => {
    const value = { schemaVersion: 1, layers: [], records: [], mounts: [{ key: sha256('k'), id: 'x', layer: 3, createdAt: 't' }] }
    expect(() => decodeCacheContents(value, 'r')).toThrow(/cache mount x refers to layer 3/)
  })

  test('only the newest entries of each mount id are kept', () => {
    const m = (id: string, day: number): CacheMountContents => ({ key: sha256(`${id}${day}`), id, layer: layer(`${id}${day}`), createdAt: `2024-01-0${day}T00:00:00.000Z` })
    const kept = newestPerMount([m('a', 1), m('a', 4), m('a', 2), m('a', 3), m('b', 1)], 3)
    expect(kept.map((k) => `${k.id}${k.createdAt.slice(9, 10)}`).sort()).toEqual(['a2', 'a3', 'a4', 'b1'])
  })
})
