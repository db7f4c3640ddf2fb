import type { ContentProvider } from '../cache/content/index.js'
import { TsbuildError } from '../common/errors.js'
import type { Descriptor } from '../common/oci.js'
import { familiarName, formatReference, parseReference, withDigest, type ImageReference, type RegistryClient } from '../registry/index.js'

export interface RegistryExportOptions {
  /** Holds the root and everything it references. */
  store: ContentProvider
  client: RegistryClient
  /** Where to push (`name=` of `-o type=image,push=true` / `type=registry`); each gets the whole image. */
  names: readonly string[]
  /** Push the root under its digest only (`push-by-digest=true`); the names are repositories. */
  byDigest?: boolean
  /**
   * References the image's blobs may already sit under (its base images, or
   * the name it was pulled as). One in the same registry as a target is used
   * as the cross-repository mount source, so base layers are not uploaded again.
   */
  sources?: readonly string[]
  signal?: AbortSignal
  /** See PushOptions.beforeUpload: brings a blob into `store` that is not there yet. */
  beforeUpload?: (desc: Descriptor) => Promise<void>
  /** Per blob, a reference that lists it (an imported cache): mounted from there when in the target's registry. */
  blobSource?: (desc: Descriptor) => string | undefined
}

export interface RegistryExportResult {
  /** The root's digest, the same at every name. */
  descriptor: Descriptor
  /** Fully qualified names pushed to, in order. */
  pushed: string[]
}

/**
 * Push a stored image (manifest or index) to every name. Blobs the target
 * repository has are skipped after a HEAD; others are mounted from a source
 * repository in the same registry when there is one, else uploaded.
 */
export async function exportToRegistry (root: Descriptor, opts: RegistryExportOptions): Promise<RegistryExportResult> {
  if (opts.names.length === 0) {
    throw new TsbuildError('USAGE', 'pushing to a registry needs an image name: add name=REGISTRY/REPO:TAG to the output, or -t')
  }
  const sources = (opts.sources ?? []).flatMap((s) => { try { return [parseReference(s)] } catch { return [] } })
  const pushed: string[] = []
  for (const name of opts.names) {
    const target = opts.byDigest === true ? withDigest(parseReference(name), root.digest) : parseReference(name)
    const mountFrom = mountSourceFor(target, sources)
    const blobSource = opts.blobSource
    const mountFromFor = blobSource === undefined ? undefined : (desc: Descriptor): string | undefined => {
      const s = blobSource(desc)
      if (s === undefined) return undefined
      try { return mountSourceFor(target, [parseReference(s)]) } catch { return undefined }
    }
    await opts.client.pushImage(opts.store, root, target, {
      ...(mountFrom !== undefined ? { mountFrom } : {}),
      ...(mountFromFor !== undefined ? { mountFromFor } : {}),
      ...(opts.beforeUpload !== undefined ? { beforeUpload: opts.beforeUpload } : {}),
      ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
    }).catch((err: unknown) => {
      if (err instanceof TsbuildError && !err.message.includes(familiarName(target))) {
        throw new TsbuildError(err.code, `pushing ${familiarName(target)}: ${err.message}`, { cause: err, ...(err.hint !== undefined ? { hint: err.hint } : {}) })
      }
      throw err
    })
    pushed.push(formatReference(target))
  }
  return { descriptor: root, pushed }
}

/** The repository to mount blobs from: the first source in the target's registry that is another repository. */
export function mountSourceFor (target: ImageReference, sources: readonly ImageReference[]): string | undefined {
  return sources.find((s) => s.registry === target.registry && s.repository !== target.repository)?.repository
}
