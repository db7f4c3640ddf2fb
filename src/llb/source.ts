import { parseDigest } from '../common/digest.js'
import { TsbuildError } from '../common/errors.js'
import type { Platform } from '../common/platform.js'
import type { Edge, GitSourceAttrs, HttpSourceAttrs, ImageResolveMode, LocalSourceAttrs, Op, OpMetadata, SourceAttrs } from './ops.js'
import { normalizeImageRef } from './reference.js'
import { State } from './state.js'
import { pickMetadata, toPlatform, type MarshalContext, type MetadataOptions, type Output, type Vertex } from './vertex.js'

/** Builder vertex of a SourceOp; only image sources take a platform. */
export class SourceVertex implements Vertex {
  readonly inputs: readonly Output[] = []

  constructor (
    readonly identifier: string,
    private readonly sourceAttrs: SourceAttrs | (() => SourceAttrs),
    readonly metadata: OpMetadata,
    readonly platform?: Platform,
  ) {}

  /** Deferred attributes are read when the vertex is marshalled (see {@link LocalOptions.followPaths}). */
  get attrs (): SourceAttrs {
    return typeof this.sourceAttrs === 'function' ? this.sourceAttrs() : this.sourceAttrs
  }

  toOp (_inputs: readonly Edge[], ctx: MarshalContext): Op {
    const attrs = this.attrs
    const platformDependent = attrs.type === 'image'
    return {
      kind: 'source',
      identifier: this.identifier,
      attrs,
      inputs: [],
      ...(platformDependent ? { platform: this.platform ?? ctx.platform } : {}),
      ...(ctx.constraints !== undefined ? { constraints: ctx.constraints } : {}),
    }
  }
}

export interface ImageOptions extends MetadataOptions {
  /** Which platform's image to use; defaults to the marshal platform. Also becomes the State's platform. */
  readonly platform?: Platform | string
  readonly resolveMode?: ImageResolveMode
}

/** An image from a registry, e.g. `image('alpine:3.20')`. */
export function image (ref: string, opts: ImageOptions = {}): State {
  const normalized = normalizeImageRef(ref)
  const platform = toPlatform(opts.platform)
  const attrs = { type: 'image', ref: normalized, resolveMode: opts.resolveMode ?? 'default' } as const
  const v = new SourceVertex(`docker-image://${normalized}`, attrs, pickMetadata(opts), platform)
  const st = State.fromOutput({ vertex: v, index: 0 })
  return platform === undefined ? st : st.platform(platform)
}

export interface LocalOptions extends MetadataOptions {
  readonly includePatterns?: readonly string[]
  readonly excludePatterns?: readonly string[]
  /**
   * The paths the build reads from the directory; the client sends only
   * those (and the targets of symlinks on the way). A function is called
   * when the graph is marshalled: a frontend learns the paths while it
   * builds the graph (BuildKit's Dockerfile frontend does the same), so the
   * vertex must not be marshalled before that is done.
   */
  readonly followPaths?: readonly string[] | (() => readonly string[])
  readonly sharedKeyHint?: string
}

/** A directory the client provides under `name` (`context`, `dockerfile`, …). */
export function local (name: string, opts: LocalOptions = {}): State {
  if (name === '') throw new TsbuildError('USAGE', 'local source needs a name')
  const attrsWith = (followPaths: readonly string[]): LocalSourceAttrs => ({
    type: 'local',
    name,
    includePatterns: opts.includePatterns ?? [],
    excludePatterns: opts.excludePatterns ?? [],
    followPaths,
    ...(opts.sharedKeyHint !== undefined ? { sharedKeyHint: opts.sharedKeyHint } : {}),
  })
  const follow = opts.followPaths
  const attrs = typeof follow === 'function' ? () => attrsWith(follow()) : attrsWith(follow ?? [])
  return State.fromOutput({ vertex: new SourceVertex(`local://${name}`, attrs, pickMetadata(opts)), index: 0 })
}

export interface HttpOptions extends MetadataOptions {
  readonly checksum?: string
  readonly filename?: string
  readonly chmod?: number
  readonly uid?: number
  readonly gid?: number
}

/** A file downloaded over HTTP(S); the output holds that one file. */
export function http (url: string, opts: HttpOptions = {}): State {
  if (!/^https?:\/\//.test(url)) throw new TsbuildError('USAGE', `http source ${JSON.stringify(url)}: expected an http:// or https:// URL`)
  const attrs: HttpSourceAttrs = {
    type: 'http',
    url,
    ...(opts.checksum !== undefined ? { checksum: parseDigest(opts.checksum) } : {}),
    ...(opts.filename !== undefined ? { filename: opts.filename } : {}),
    ...(opts.chmod !== undefined ? { chmod: opts.chmod } : {}),
    ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
    ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
  }
  return State.fromOutput({ vertex: new SourceVertex(url, attrs, pickMetadata(opts)), index: 0 })
}

export interface GitOptions extends MetadataOptions {
  readonly keepGitDir?: boolean
  readonly subdir?: string
}

/** A git checkout of `remote` at `ref` (branch, tag or commit; default HEAD). */
export function git (remote: string, ref?: string, opts: GitOptions = {}): State {
  if (remote === '') throw new TsbuildError('USAGE', 'git source needs a remote')
  const attrs: GitSourceAttrs = {
    type: 'git',
    remote,
    ...(ref !== undefined && ref !== '' ? { ref } : {}),
    ...(opts.subdir !== undefined && opts.subdir !== '' ? { subdir: opts.subdir } : {}),
    keepGitDir: opts.keepGitDir ?? false,
  }
  const id = `git://${remote.replace(/^[a-z+]+:\/\//, '')}${attrs.ref !== undefined || attrs.subdir !== undefined ? `#${attrs.ref ?? ''}${attrs.subdir !== undefined ? `:${attrs.subdir}` : ''}` : ''}`
  return State.fromOutput({ vertex: new SourceVertex(id, attrs, pickMetadata(opts)), index: 0 })
}

/** The empty filesystem. */
export function scratch (): State {
  return State.fromOutput(null)
}
