import { canonicalJson, sha256 } from '../../../common/digest.js'
import { formatPlatform, hostPlatform } from '../../../common/platform.js'
import type { ImageSourceAttrs, SourceOp } from '../../../llb/index.js'
import type { CacheRecord, ContentProvider, LayerIndex } from '../../../cache/index.js'
import { unpackLayer, type Snapshotter } from '../../../cache/snapshots/index.js'
import type { CacheMap, OpContext, OpRunner, Result } from '../../scheduler/index.js'
import type { ImageProvider } from '../types.js'

export interface ImageSourceDeps {
  images: ImageProvider
  content: ContentProvider
  snapshotter: Snapshotter
  layerIndex: LayerIndex
}

/**
 * A base image. Keyed by its resolved manifest digest (a moved tag is a new
 * key); its layers are unpacked once per diffID and shared by every image
 * and build that has them, and their original blobs are remembered so an
 * export reuses them instead of recompressing.
 */
export class ImageSourceRunner implements OpRunner {
  readonly resource = 'io'
  private readonly attrs: ImageSourceAttrs

  constructor (private readonly op: SourceOp, private readonly deps: ImageSourceDeps) {
    this.attrs = op.attrs as ImageSourceAttrs
  }

  private get platform () { return this.op.platform ?? hostPlatform() }

  async cacheMap (ctx: OpContext): Promise<CacheMap> {
    const { digest } = await this.deps.images.resolve(this.attrs.ref, this.platform, ctx.signal)
    return {
      digest: sha256(canonicalJson({ image: digest, platform: formatPlatform(this.platform) })),
      deps: [],
      explain: { image: `${this.attrs.ref}@${digest}` },
    }
  }

  async exec (ctx: OpContext): Promise<Result> {
    const layers = await this.deps.images.pullLayers(this.attrs.ref, this.platform, ctx.signal)
    const names: string[] = []
    for (const l of layers) {
      const existing = await this.deps.snapshotter.stat(l.diffID as never)
      const info = existing ?? await unpackLayer(this.deps.snapshotter, l.diffID, this.deps.content.read(l.descriptor.digest), { signal: ctx.signal })
      await this.deps.layerIndex.addBlob(info.name, l.diffID, l.descriptor)
      names.push(info.name)
    }
    return { layers: names }
  }

  load (record: CacheRecord): Result {
    return { layers: record.layers ?? [] }
  }
}
