import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { digestHex, sha256, type Digest } from '../../common/digest.js'
import { TsbuildError } from '../../common/errors.js'
import type { Descriptor } from '../../common/oci.js'
import type { ContentProvider } from '../content/index.js'
import { CacheExporter, type CacheExportDeps } from './exporter.js'
import { decodeCacheConfig, type CacheConfig, type CacheContents, type CacheLayer } from './format.js'
import { LocalCacheTarget } from './localTarget.js'
import type { CacheTarget } from './target.js'

const layerOf = (name: string): CacheLayer => ({
  descriptor: { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(`blob ${name}`), size: 10 },
  diffID: sha256(`diff ${name}`),
})
/** Step i of a RUN chain: its own layer on top of every earlier one. */
const step = (i: number) => ({ key: sha256(`key ${i}`), layers: Array.from({ length: i + 1 }, (_, j) => `snap${j}`), description: `RUN ${i}` })
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A target in memory that keeps every commit and can be made slow or failing. */
class FakeTarget implements CacheTarget {
  readonly name = 'fake'
  readonly commits: CacheConfig[] = []
  readonly blobs = new Set<Digest>()
  active = 0
  maxActive = 0
  commitDelay = 0
  failCommits = false
  /** Uploads of these digests wait until released. */
  readonly held = new Map<Digest, Promise<void>>()
  constructor (private readonly existing?: CacheContents) {
    for (const c of existing?.chains ?? []) for (const l of c.layers) this.blobs.add(l.descriptor.digest)
  }

  async read (): Promise<CacheContents | undefined> { return this.existing }
  async putBlob (desc: Descriptor): Promise<boolean> {
    await this.held.get(desc.digest)
    this.blobs.add(desc.digest)
    return true
  }

  async fetchBlob (): Promise<void> { throw new Error('not used') }
  async commit (config: CacheConfig): Promise<void> {
    this.active++
    this.maxActive = Math.max(this.maxActive, this.active)
    try {
      await sleep(this.commitDelay)
      if (this.failCommits) throw new TsbuildError('UNAVAILABLE', 'registry down')
      // Blobs go in before the manifest that names them.
      for (const l of config.layers) if (!this.blobs.has(l.descriptor.digest)) throw new Error(`committed before ${l.descriptor.digest} was uploaded`)
      this.commits.push(config)
    } finally {
      this.active--
    }
  }

  records (n = this.commits.length - 1): number { return this.commits[n]?.records.length ?? 0 }
}

function exporterFor (target: CacheTarget, deps: Partial<CacheExportDeps> & { ignoreError?: boolean } = {}): CacheExporter {
  return new CacheExporter(target, { ignoreError: deps.ignoreError ?? false }, {
    layer: async (name) => layerOf(name),
    content: async () => { throw new Error('the fake target reads no bytes') },
    warn: () => {},
    backoff: () => 0,
    ...deps,
  })
}

describe('CacheExporter commits', () => {
  test('40 steps added at once: one commit, written by finish without waiting for the interval, listing all 40', async () => {
    const target = new FakeTarget()
    const exporter = exporterFor(target)
    for (let i = 0; i < 40; i++) exporter.add(step(i))
    const started = Date.now()
    expect(await exporter.finish()).toEqual({ records: 40, commits: 1 })
    expect(Date.now() - started).toBeLessThan(1000)
    expect(target.commits).toHaveLength(1)
    expect(target.records()).toBe(40)
  })

  test('steps finishing over time share commits: a few, never overlapping, each listing more, the last all 40', async () => {
    const target = new FakeTarget()
    target.commitDelay = 15
    const exporter = exporterFor(target, { commitInterval: 40 })
    for (let i = 0; i < 40; i++) {
      exporter.add(step(i))
      await sleep(5)
    }
    const { commits } = await exporter.finish()
    expect(commits).toBe(target.commits.length)
    expect(commits).toBeGreaterThanOrEqual(2)
    expect(commits).toBeLessThanOrEqual(12)
    expect(target.maxActive).toBe(1)
    const counts = target.commits.map((_, i) => target.records(i))
    expect(counts).toEqual([...counts].sort((a, b) => a - b))
    expect(counts.at(-1)).toBe(40)
  })

  test('without finish (a build killed half-way), what finished is committed once the interval passes', async () => {
    const target = new FakeTarget()
    const exporter = exporterFor(target, { commitInterval: 20 })
    for (let i = 0; i < 3; i++) exporter.add(step(i))
    await sleep(200)
    expect(target.commits.map((c) => c.records.length)).toEqual([3])
    await exporter.finish()
    expect(target.commits).toHaveLength(1) // nothing new since
  })

  test('a step whose blobs are still uploading is left out of a commit until they are there', async () => {
    const target = new FakeTarget()
    let release!: () => void
    target.held.set(layerOf('snap5').descriptor.digest, new Promise<void>((resolve) => { release = resolve }))
    const exporter = exporterFor(target, { commitInterval: 10 })
    for (let i = 0; i < 5; i++) exporter.add(step(i))
    exporter.add(step(5))
    await sleep(100)
    expect(target.commits.map((c) => c.records.length)).toEqual([5])
    release()
    await exporter.finish()
    expect(target.records()).toBe(6)
  })

  test('records already at the target are kept', async () => {
    const old = { key: sha256('old'), layers: [layerOf('old')] }
    const target = new FakeTarget({ chains: [old], mounts: [] })
    const exporter = exporterFor(target)
    exporter.add(step(0))
    await exporter.finish()
    expect(decodeCacheConfig(target.commits[0], 'test').map((c) => c.key).sort()).toEqual([old.key, step(0).key].sort())
  })

  test.each([
    ['without ignore-error, finish throws it', false],
    ['with ignore-error, finish warns', true],
  ])('a commit that keeps failing: %s', async (_name, ignoreError) => {
    const target = new FakeTarget()
    target.failCommits = true
    const warnings: string[] = []
    const exporter = exporterFor(target, { ignoreError, attempts: 2, warn: (m) => warnings.push(m) })
    for (let i = 0; i < 40; i++) exporter.add(step(i))
    if (ignoreError) {
      await exporter.finish()
      expect(warnings).toEqual(['cache export to fake failed, continuing without it: registry down'])
    } else {
      await expect(exporter.finish()).rejects.toThrow('registry down')
      expect(warnings).toEqual([])
    }
    expect(target.commits).toEqual([])
  })

  test('a failed upload surfaces from finish and nothing more is committed', async () => {
    const target = new FakeTarget()
    const exporter = exporterFor(target, { attempts: 1, layer: async (name) => { if (name === 'snap3') throw new Error('snap3 is gone'); return layerOf(name) } })
    for (let i = 0; i < 5; i++) exporter.add(step(i))
    await expect(exporter.finish()).rejects.toThrow('snap3 is gone')
    expect(target.commits).toEqual([])
  })
})

describe('CacheExporter to a local dir', () => {
  /** Layer blobs as files, served the way the local content store does. */
  async function layerFiles (n: number): Promise<{ provider: ContentProvider; layer: (name: string) => Promise<CacheLayer> }> {
    const dir = await mkdtemp(join(tmpdir(), 'tsb-export-src-'))
    const layers = new Map<string, CacheLayer>()
    for (let i = 0; i < n; i++) {
      const bytes = Buffer.from(`layer ${i} ${dir}`)
      const digest = sha256(bytes)
      await writeFile(join(dir, digestHex(digest)), bytes)
      layers.set(`snap${i}`, { descriptor: { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest, size: bytes.length }, diffID: sha256(`diff ${i}`) })
    }
    const provider = { path: (d: Digest) => join(dir, digestHex(d)) } as ContentProvider
    return { provider, layer: async (name) => layers.get(name)! }
  }

  async function exportChain (dest: string, n: number): Promise<{ commits: number }> {
    const { provider, layer } = await layerFiles(n)
    const exporter = exporterFor(new LocalCacheTarget(dest), { commitInterval: 5, layer, content: async () => provider })
    for (let i = 0; i < n; i++) {
      exporter.add(step(i))
      await sleep(4)
    }
    return await exporter.finish()
  }

  const blobsIn = async (dest: string) => new Set(await readdir(join(dest, 'blobs', 'sha256')))
  const indexed = async (dest: string) => {
    const index = JSON.parse(await readFile(join(dest, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> }
    const manifest = index.manifests[0]!.digest.slice(7)
    const config = (JSON.parse(await readFile(join(dest, 'blobs', 'sha256', manifest), 'utf8')) as { config: { digest: string } }).config.digest.slice(7)
    return { manifest, config }
  }

  test('after several commits the dir holds the layers and one config and one manifest, the ones index.json names', async () => {
    const dest = join(await mkdtemp(join(tmpdir(), 'tsb-export-')), 'cache')
    const { commits } = await exportChain(dest, 20)
    expect(commits).toBeGreaterThan(1)
    const blobs = await blobsIn(dest)
    expect(blobs.size).toBe(20 + 2)
    const { manifest, config } = await indexed(dest)
    expect(blobs.has(manifest) && blobs.has(config)).toBe(true)
    expect((await new LocalCacheTarget(dest).read())?.chains).toHaveLength(20)
  })

  test('what an earlier build left is kept: its config and manifest stay, the new build adds one of each', async () => {
    const dest = join(await mkdtemp(join(tmpdir(), 'tsb-export-')), 'cache')
    await exportChain(dest, 3)
    const before = await blobsIn(dest)
    const first = await indexed(dest)
    await exportChain(dest, 10) // other layer bytes: a second build's own steps
    const after = await blobsIn(dest)
    for (const b of before) expect(after.has(b)).toBe(true)
    expect(after.size).toBe(before.size + 10 + 2)
    expect(await indexed(dest)).not.toEqual(first)
    // Both builds' records are listed (keys of the same step numbers are the newer build's).
    expect((await new LocalCacheTarget(dest).read())?.chains).toHaveLength(10)
  })
})
