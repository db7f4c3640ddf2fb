import { readdir, readFile, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { canonicalJson, sha256, type Digest } from '../common/digest.js'
import { findTsbuildError } from '../common/errors.js'
import type { Descriptor } from '../common/oci.js'
import { resolveInRoot } from '../common/pathInRoot.js'
import type { Platform } from '../common/platform.js'
import type { ContentProvider } from '../cache/index.js'
import {
  CacheExporter, CacheImporter, LocalCacheTarget, RegistryCacheTarget, cacheMountKey,
  type CacheLayer, type CacheMountContents, type CacheTarget,
} from '../cache/remote/index.js'
import { createExportPool, createLayer, mountSourceFor, type ExportPool, type LayerSource } from '../exporter/index.js'
import { parseReference } from '../registry/index.js'
import { diskUsage } from '../solver/mounts/index.js'
import type { MountProviders } from '../solver/ops/types.js'
import type { EventSink } from '../solver/events.js'
import type { SchedulerOptions, SolvedVertex, SolverVertex } from '../solver/scheduler/index.js'
import { layerCreated, makeLayerSource, type PlatformImage } from './export.js'
import type { CacheSpec } from './request.js'
import type { Services } from './services.js'

export interface RemoteCacheOptions {
  services: Services
  cacheFrom: readonly CacheSpec[]
  cacheTo: readonly CacheSpec[]
  platforms: readonly Platform[]
  /** Base image references: cache blobs are mounted from one in the cache's registry rather than uploaded. */
  baseRefs?: readonly string[]
  /** Where `key-from` paths of cache mounts are read. */
  contextDir?: string
  sourceDateEpoch?: number
  emit: EventSink
  signal: AbortSignal
}

interface Solved { key: Digest; layers: string[]; name: string }

/** Largest cache mount contents `mounts=true` exports unless `mount-max-size=` says otherwise. */
export const DEFAULT_MOUNT_MAX_SIZE = 1024 ** 3

/** What a cache mount instance last held from a portable cache: `dirs/.N.portable.json` beside it. */
interface PortableMark { diffID: Digest; time: string }

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
  /** Whether an imported cache lists the blob (fetchBlob would bring it). */
  readonly isImportedBlob = (desc: Descriptor): boolean => this.importer?.lists(desc.digest) === true
  /** The registry reference of an imported cache that lists the blob (a push mounts it from there). */
  readonly blobSource = (desc: Descriptor): string | undefined => this.importer?.registryRefOf(desc.digest)

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

  /**
   * Cache mounts that travel with the cache (docs/cache-format.md): before a
   * RUN uses a mount, an imported cache's contents for it are unpacked into
   * it when the local one is empty or older; after the RUN, with
   * `mounts=true`, the directory is archived and exported under its key.
   */
  wrapCacheMounts (providers: MountProviders): MountProviders {
    const mountExporters = this.exporters.filter((e) => e.spec.mounts)
    if (this.importer === undefined && mountExporters.length === 0) return providers
    return {
      ...providers,
      cache: async (o, signal) => {
        const lease = await providers.cache(o, signal)
        let key: Promise<Digest> | undefined
        const keyOf = (): Promise<Digest> => (key ??= this.mountKey(o.id, o.keyFrom))
        try {
          await this.restoreMount(o.id, keyOf, lease.hostPath)
        } catch (err) {
          await lease.release()
          throw err
        }
        if (mountExporters.length === 0) return lease
        return {
          hostPath: lease.hostPath,
          release: async () => {
            // Archived before the lease ends, so a locked/private mount is not written meanwhile.
            try { await this.exportMount(o.id, await keyOf(), lease.hostPath, mountExporters) } finally { await lease.release() }
          },
        }
      },
    }
  }

  private readonly restoring = new Map<string, Promise<void>>()

  private async restoreMount (id: string, keyOf: () => Promise<Digest>, dir: string): Promise<void> {
    const importer = this.importer
    if (importer === undefined) return
    let p = this.restoring.get(dir)
    if (p === undefined) {
      p = (async () => {
        const entry = importer.mountFor(id, await keyOf())
        if (entry === undefined || !await isOlder(dir, entry)) return
        try {
          await importer.restoreMount(entry, dir)
          await writeMark(dir, { diffID: entry.layer.diffID, time: entry.createdAt })
        } catch (err) {
          if (this.opts.signal.aborted) throw err
          // A cache that cannot be restored only makes the step slower.
          this.warn(`cannot restore cache mount ${id}: ${findTsbuildError(err)?.message ?? (err as Error).message}`)
        }
      })()
      this.restoring.set(dir, p)
    }
    await p
  }

  private async exportMount (id: string, key: Digest, dir: string, to: ReadonlyArray<{ exporter: CacheExporter; spec: CacheSpec }>): Promise<void> {
    const size = await diskUsage(dir)
    const fits = to.filter(({ exporter, spec }) => {
      const max = spec.type === 'inline' ? 0 : spec.mountMaxSize ?? DEFAULT_MOUNT_MAX_SIZE
      if (size <= max) return true
      this.warn(`cache mount ${id} holds ${formatBytes(size)}, over mount-max-size ${formatBytes(max)} of ${exporter.target.name}: not exported`)
      return false
    })
    if (fits.length === 0) return
    try {
      const layer = await createLayer(dir, { compression: 'gzip', store: this.opts.services.content, pool: this.pool!, ociMediaTypes: true, signal: this.opts.signal })
      const entry: CacheMountContents = { key, id, layer: { descriptor: layer.descriptor, diffID: layer.diffID }, createdAt: new Date().toISOString() }
      await writeMark(dir, { diffID: layer.diffID, time: entry.createdAt })
      for (const { exporter } of fits) exporter.addMount(entry)
    } catch (err) {
      if (this.opts.signal.aborted) throw err
      this.warn(`cannot archive cache mount ${id}: ${findTsbuildError(err)?.message ?? (err as Error).message}`)
    }
  }

  /** The mount id, plus with `key-from` a checksum of those context files (path and content, in the order given). */
  private async mountKey (id: string, keyFrom: readonly string[] | undefined): Promise<Digest> {
    if (keyFrom === undefined || keyFrom.length === 0) return cacheMountKey(id)
    const contextDir = this.opts.contextDir
    const files = await Promise.all(keyFrom.map(async (path) => {
      try {
        if (contextDir === undefined) throw new Error('no build context')
        return { path, content: sha256(await readFile(await resolveInRoot(contextDir, path))) }
      } catch (err) {
        // The key still separates "no lockfile" from every lockfile; the build goes on.
        this.warn(`cache mount ${id}: key-from ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); keyed as missing`)
        return { path, content: null }
      }
    }))
    return cacheMountKey(id, sha256(canonicalJson(files)))
  }

  private warn (message: string): void {
    this.opts.emit({ type: 'warning', message, time: Date.now() })
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
        // As buildx: a cache that is not there yet is worth a warning (a typo in src= looks the same).
        if (await importer.add(target) === undefined) this.opts.emit({ type: 'warning', message: `cache import from ${target.name}: not found, nothing imported`, time: Date.now() })
      } catch (err) {
        // A cache that cannot be read only makes the build slower, as in BuildKit.
        const why = findTsbuildError(err)?.message ?? (err as Error).message
        // Registry errors start with the reference already (`REF: registry … unreachable`): name it once.
        const prefix = spec.type === 'registry' ? `${spec.ref}: ` : `${target.name}: `
        this.opts.emit({ type: 'warning', message: `cannot import cache from ${target.name}: ${why.startsWith(prefix) ? why.slice(prefix.length) : why}`, time: Date.now() })
      }
    }
    if (importer.size > 0) this.importer = importer
  }

  private target (spec: CacheSpec): CacheTarget {
    if (spec.type === 'local') return new LocalCacheTarget(spec.dir)
    if (spec.type === 'registry') return new RegistryCacheTarget(spec.ref, this.opts.services.registry, this.opts.platforms, this.mountSource(spec.ref))
    throw new Error('an inline cache has no target of its own')
  }

  private mountSource (ref: string): string | undefined {
    try {
      return mountSourceFor(parseReference(ref), (this.opts.baseRefs ?? []).flatMap((r) => { try { return [parseReference(r)] } catch { return [] } }))
    } catch {
      return undefined // a bad cache ref is reported by the target's first request
    }
  }

  private onSolved (v: SolverVertex, s: SolvedVertex): void {
    if (v.op.noCache === true || s.result.layers === undefined || s.result.context !== undefined) return
    const solved: Solved = { key: s.key, layers: s.result.layers, name: v.name }
    this.solved.set(v.digest, solved)
    for (const { exporter, spec } of this.exporters) {
      if (spec.mode === 'max') exporter.add({ key: solved.key, layers: solved.layers, description: solved.name })
      else if (this.heads.has(v.digest)) for (const p of this.prefixesOf(solved)) exporter.add({ key: p.key, layers: p.layers, description: p.name })
      // A step reported after its head (it sat below a cache hit and did not run) still belongs to the head's chain.
      else if (this.isPrefixOfSolvedHead(solved)) exporter.add({ key: solved.key, layers: solved.layers, description: solved.name })
    }
  }

  private isPrefixOfSolvedHead (s: Solved): boolean {
    for (const head of this.heads) {
      const top = this.solved.get(head)
      if (top !== undefined && s.layers.length <= top.layers.length && s.layers.every((l, i) => top.layers[i] === l)) return true
    }
    return false
  }

  /** `top` and every solved step whose filesystem is a bottom part of it (mode=min). */
  private prefixesOf (top: Solved): Solved[] {
    return [...this.solved.values()].filter((s) => s.layers.length <= top.layers.length && s.layers.every((l, i) => top.layers[i] === l))
  }

  private readonly cacheLayers = new Map<string, Promise<CacheLayer>>()

  /**
   * A snapshot as a cache layer, worked out once per name: every step lists
   * its whole stack, so a chain of N steps asks for about N²/2 layers. A
   * failure is forgotten, so a later step asks again.
   */
  private async layer (name: string): Promise<CacheLayer> {
    let p = this.cacheLayers.get(name)
    if (p === undefined) {
      p = this.describeLayer(name)
      this.cacheLayers.set(name, p)
      p.catch(() => { if (this.cacheLayers.get(name) === p) this.cacheLayers.delete(name) })
    }
    return await p
  }

  private async describeLayer (name: string): Promise<CacheLayer> {
    const { layerIndex, content } = this.opts.services
    if (this.opts.sourceDateEpoch === undefined || name.startsWith('sha256:')) {
      const info = await layerIndex.get(name)
      const blob = info?.blobs.find((b) => b.mediaType.endsWith('gzip')) ?? info?.blobs[0]
      // A remembered blob may live only in an imported cache: describing it downloads nothing.
      if (info?.diffID !== undefined && blob !== undefined && (await content.info(blob.digest) !== undefined || this.importer?.lists(blob.digest) === true)) {
        return await this.withTime(name, { descriptor: blob, diffID: info.diffID })
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
    return await this.withTime(name, { descriptor: src.descriptor, diffID: src.diffID })
  }

  /** The layer with the time it was made, so images exported from this cache elsewhere keep their times (not under SOURCE_DATE_EPOCH: reproducible caches). */
  private async withTime (name: string, layer: CacheLayer): Promise<CacheLayer> {
    if (this.opts.sourceDateEpoch !== undefined) return layer
    const createdAt = await layerCreated(this.opts.services, name)
    return createdAt === undefined ? layer : { ...layer, createdAt }
  }

  private async content (desc: Descriptor): Promise<ContentProvider> {
    const { content } = this.opts.services
    if (await content.info(desc.digest) !== undefined || await this.fetchBlob(desc)) return content
    throw new Error(`blob ${desc.digest} is neither in the store nor in an imported cache`)
  }
}

const markPath = (dir: string): string => join(dirname(dir), `.${basename(dir)}.portable.json`)

async function writeMark (dir: string, mark: PortableMark): Promise<void> {
  await writeFile(markPath(dir), JSON.stringify(mark))
}

/**
 * Whether a local cache mount should take an imported entry: it is empty, or
 * it holds something else that is older than the entry. The time of a local
 * cache is its mark (last restore or export), else its last recorded use.
 */
async function isOlder (dir: string, entry: CacheMountContents): Promise<boolean> {
  if ((await readdir(dir)).length === 0) return true
  const mark = await readFile(markPath(dir), 'utf8').then((t) => JSON.parse(t) as PortableMark, () => undefined)
  if (mark?.diffID === entry.layer.diffID) return false
  const lastUsed = mark?.time ?? await readFile(join(dirname(dirname(dir)), 'meta.json'), 'utf8').then((t) => (JSON.parse(t) as { lastUsed?: string }).lastUsed, () => undefined)
  return lastUsed === undefined || lastUsed < entry.createdAt
}

function formatBytes (n: number): string {
  return n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(1)} GiB` : `${(n / 1024 ** 2).toFixed(1)} MiB`
}
