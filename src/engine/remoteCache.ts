import type { Digest } from '../common/digest.js'
import { findTsbuildError } from '../common/errors.js'
import type { Descriptor } from '../common/oci.js'
import type { Platform } from '../common/platform.js'
import type { ContentProvider } from '../cache/index.js'
import { CacheExporter, CacheImporter, LocalCacheTarget, RegistryCacheTarget, type CacheLayer, type CacheTarget } from '../cache/remote/index.js'
import { createExportPool, type ExportPool, type LayerSource } from '../exporter/index.js'
import type { EventSink } from '../solver/events.js'
import type { SchedulerOptions, SolvedVertex, SolverVertex } from '../solver/scheduler/index.js'
import { makeLayerSource, type PlatformImage } from './export.js'
import type { CacheSpec } from './request.js'
import type { Services } from './services.js'

export interface RemoteCacheOptions {
  services: Services
  cacheFrom: readonly CacheSpec[]
  cacheTo: readonly CacheSpec[]
  platforms: readonly Platform[]
  sourceDateEpoch?: number
  emit: EventSink
  signal: AbortSignal
}

interface Solved { key: Digest; layers: string[]; name: string }

/**
 * One build's cache import and export (`--cache-from`, `--cache-to`). The
 * import reads metadata up front and serves the scheduler's misses; the
 * export is fed each solved vertex (mode=max) or each final result with the
 * steps its layers stack on (mode=min, inline), while the build runs.
 */
export class RemoteCache {
  readonly layerMemo = new Map<string, Promise<LayerSource>>()
  private readonly exporters: Array<{ exporter: CacheExporter; spec: CacheSpec }> = []
  private readonly solved = new Map<Digest, Solved>()
  private heads = new Set<Digest>()
  private importer?: CacheImporter
  private pool?: ExportPool

  private constructor (private readonly opts: RemoteCacheOptions) {}

  static async open (opts: RemoteCacheOptions): Promise<RemoteCache> {
    const rc = new RemoteCache(opts)
    await rc.openImports()
    const targets = opts.cacheTo.filter((s) => s.type !== 'inline')
    if (targets.length > 0) rc.pool = await createExportPool()
    for (const spec of targets) {
      const exporter = new CacheExporter(rc.target(spec), { ignoreError: spec.ignoreError }, {
        layer: async (name) => await rc.layer(name),
        content: async (desc) => await rc.content(desc),
        warn: (message) => opts.emit({ type: 'warning', message, time: Date.now() }),
        signal: opts.signal,
      })
      rc.exporters.push({ exporter, spec })
    }
    return rc
  }

  get isInline (): boolean { return this.opts.cacheTo.some((s) => s.type === 'inline') }

  /** What the scheduler needs: the imported cache and the export feed. */
  schedulerOptions (): Pick<SchedulerOptions, 'remote' | 'onSolved'> {
    const importer = this.importer
    return {
      ...(importer !== undefined ? { remote: { lookup: async (key) => await importer.lookup(key) } } : {}),
      ...(this.exporters.length > 0 || this.isInline ? { onSolved: (v: SolverVertex, s: SolvedVertex) => { this.onSolved(v, s) } } : {}),
    }
  }

  setHeads (heads: readonly SolverVertex[]): void { this.heads = new Set(heads.map((h) => h.digest)) }

  /** For the image exporter: a blob an imported cache lists, fetched into the store. */
  readonly fetchBlob = async (desc: Descriptor): Promise<boolean> => await this.importer?.fetchBlob(desc) ?? false

  /** Inline cache entries for one exported image (its head and the steps its layers stack on). */
  inlineFor (head: SolverVertex | null | undefined): PlatformImage['inlineCache'] {
    if (!this.isInline || head === null || head === undefined) return undefined
    const top = this.solved.get(head.digest)
    if (top === undefined) return []
    // Steps below an imported hit were not solved: the import still knows them, so the
    // metadata (and the image config carrying it) is the same as the build that made it.
    const entries = new Map(this.prefixesOf(top).map((s) => [s.key, { key: s.key, depth: s.layers.length, description: s.name }]))
    for (const c of this.importer?.prefixesOf(top.layers) ?? []) {
      if (!entries.has(c.key)) entries.set(c.key, { key: c.key, depth: c.layers.length, description: c.description ?? '' })
    }
    return [...entries.values()]
  }

  /** Wait for every export. Throws the first failure of a target without ignore-error. */
  async finish (): Promise<void> {
    try {
      for (const { exporter } of this.exporters) await exporter.finish()
    } finally {
      await this.pool?.destroy()
      this.pool = undefined
    }
  }

  /** After a failed build: keep what was exported, report nothing. */
  async close (): Promise<void> {
    await this.finish().catch(() => {})
  }

  private async openImports (): Promise<void> {
    if (this.opts.cacheFrom.length === 0) return
    const { services } = this.opts
    const importer = new CacheImporter({ content: services.content, snapshotter: services.snapshotter, layerIndex: services.layerIndex, records: services.records }, this.opts.signal)
    for (const spec of this.opts.cacheFrom) {
      if (spec.type === 'inline') continue
      const target = this.target(spec)
      try {
        await importer.add(target)
      } catch (err) {
        // A cache that cannot be read only makes the build slower, as in BuildKit.
        this.opts.emit({ type: 'warning', message: `cannot import cache from ${target.name}: ${findTsbuildError(err)?.message ?? (err as Error).message}`, time: Date.now() })
      }
    }
    if (importer.size > 0) this.importer = importer
  }

  private target (spec: CacheSpec): CacheTarget {
    if (spec.type === 'local') return new LocalCacheTarget(spec.dir)
    if (spec.type === 'registry') return new RegistryCacheTarget(spec.ref, this.opts.services.registry, this.opts.platforms)
    throw new Error('an inline cache has no target of its own')
  }

  private onSolved (v: SolverVertex, s: SolvedVertex): void {
    if (v.op.noCache === true || s.result.layers === undefined || s.result.context !== undefined) return
    const solved: Solved = { key: s.key, layers: s.result.layers, name: v.name }
    this.solved.set(v.digest, solved)
    for (const { exporter, spec } of this.exporters) {
      if (spec.mode === 'max') exporter.add({ key: solved.key, layers: solved.layers, description: solved.name })
      else if (this.heads.has(v.digest)) for (const p of this.prefixesOf(solved)) exporter.add({ key: p.key, layers: p.layers, description: p.name })
    }
  }

  /** `top` and every solved step whose filesystem is a bottom part of it (mode=min). */
  private prefixesOf (top: Solved): Solved[] {
    return [...this.solved.values()].filter((s) => s.layers.length <= top.layers.length && s.layers.every((l, i) => top.layers[i] === l))
  }

  private async layer (name: string): Promise<CacheLayer> {
    const { layerIndex, content } = this.opts.services
    if (this.opts.sourceDateEpoch === undefined || name.startsWith('sha256:')) {
      const info = await layerIndex.get(name)
      const blob = info?.blobs.find((b) => b.mediaType.endsWith('gzip')) ?? info?.blobs[0]
      // A remembered blob may live only in an imported cache: describing it downloads nothing.
      if (info?.diffID !== undefined && blob !== undefined && (await content.info(blob.digest) !== undefined || this.importer?.lists(blob.digest) === true)) {
        return { descriptor: blob, diffID: info.diffID }
      }
    }
    const id = `gzip:false:${name}`
    let p = this.layerMemo.get(id)
    if (p === undefined) {
      p = makeLayerSource(name, 'gzip', false, {
        services: this.opts.services, pool: this.pool!, signal: this.opts.signal, fetchBlob: this.fetchBlob,
        ...(this.opts.sourceDateEpoch !== undefined ? { sourceDateEpoch: this.opts.sourceDateEpoch } : {}),
      })
      this.layerMemo.set(id, p)
    }
    const src = await p
    if (src.kind !== 'blob') throw new Error(`layer ${name} has no blob`)
    return { descriptor: src.descriptor, diffID: src.diffID }
  }

  private async content (desc: Descriptor): Promise<ContentProvider> {
    const { content } = this.opts.services
    if (await content.info(desc.digest) !== undefined || await this.fetchBlob(desc)) return content
    throw new Error(`blob ${desc.digest} is neither in the store nor in an imported cache`)
  }
}
