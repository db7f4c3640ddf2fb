/**
 * `--build-context name=…`: a local directory, a registry image or an image
 * in an OCI layout replaces `FROM name`, `COPY --from=name` and
 * `RUN --mount=from=name`, and a whole stage when `name` is a stage name.
 *
 * OCI layouts have no source type of their own: they are image sources
 * whose `attrs.ref` is `oci-layout://<dir>[:<tag>]@<manifest digest>`
 * (identifier `oci-layout://…` likewise). The image resolver is asked for
 * `oci-layout://<dir>[:<tag>]`; the solver reads the manifest and blobs
 * from the layout directory instead of a registry.
 */
import type { ImageConfig } from '../../../common/oci.js'
import type { Platform } from '../../../common/platform.js'
import * as llb from '../../../llb/index.js'
import type { ConvertContext } from './context.js'
import type { NamedContext } from './types.js'

export const OCI_LAYOUT_SCHEME = 'oci-layout://'

/** Look a name up the way BuildKit does: as written, then in its short form (`docker.io/library/alpine:latest` → `alpine`). */
export function namedContextFor (contexts: ReadonlyMap<string, NamedContext>, name: string): NamedContext | undefined {
  if (contexts.size === 0) return undefined
  const exact = contexts.get(name)
  if (exact !== undefined) return exact
  let short = name.replace(/^docker\.io\//, '').replace(/^index\.docker\.io\//, '').replace(/^library\//, '')
  short = short.replace(/:latest$/, '')
  return contexts.get(short) ?? contexts.get(`${short}:latest`)
}

/** The state (and image config, for images) a named context stands for. */
export async function namedContextState (ctx: ConvertContext, name: string, nc: NamedContext, platform: Platform): Promise<{ state: llb.State; image?: ImageConfig }> {
  switch (nc.kind) {
    case 'local':
      return { state: llb.local(name, { customName: `[context ${name}] load from client` }) }
    case 'image': {
      const resolved = await ctx.resolveImage(nc.ref, platform)
      const ref = resolved.ref.includes('@') ? resolved.ref : `${resolved.ref}@${resolved.digest}`
      return { state: llb.image(ref, { platform, customName: `[context ${name}] load ${ref}` }), image: resolved.config }
    }
    case 'oci-layout': {
      const layoutRef = `${OCI_LAYOUT_SCHEME}${nc.path}${nc.ref !== undefined ? `:${nc.ref}` : ''}${nc.digest !== undefined ? `@${nc.digest}` : ''}`
      const resolved = await ctx.resolveImage(layoutRef, platform)
      const ref = nc.digest !== undefined ? layoutRef : `${layoutRef}@${resolved.digest}`
      return { state: llb.State.fromOutput({ vertex: new OciLayoutVertex(ref, platform, { customName: `[context ${name}] load ${ref}` }), index: 0 }), image: resolved.config }
    }
  }
}

/** An image source read from an OCI layout; see the module comment for the encoding. */
class OciLayoutVertex implements llb.Vertex {
  readonly inputs: readonly llb.Output[] = []
  constructor (private readonly ref: string, private readonly platform: Platform, readonly metadata: llb.OpMetadata) {}

  toOp (): llb.Op {
    return {
      kind: 'source',
      identifier: this.ref,
      attrs: { type: 'image', ref: this.ref, resolveMode: 'default' },
      inputs: [],
      platform: this.platform,
    }
  }
}
