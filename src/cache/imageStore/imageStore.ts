import { randomBytes } from 'node:crypto'
import { open, readFile, rename, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { canonicalJson } from '../../common/digest.js'
import type { Digest } from '../../common/digest.js'
import { TsbuildError } from '../../common/errors.js'
import { ANNOTATION_REF_NAME, INDEX_MEDIA_TYPES, MANIFEST_MEDIA_TYPES, MediaType } from '../../common/oci.js'
import type { Descriptor, ImageIndex } from '../../common/oci.js'
import { openStateDir } from '../stateDir.js'
import type { StateDir } from '../stateDir.js'
import { withFileLock } from './fileLock.js'
import { parseImageName, tryParseImageName } from './imageName.js'

/** containerd's annotation for the full image name, kept beside the short ref name. */
export const ANNOTATION_IMAGE_NAME = 'io.containerd.image.name'
/**
 * On a stored image's entry: the registry reference (pinned by digest) it was
 * pulled from or pushed to, so layers it lacks locally can be fetched from
 * there whatever it is named now. It survives `tsbuild tag`, and push uses it
 * as the cross-repository mount source.
 */
export const ANNOTATION_PULLED_FROM = 'dev.tsbuild.image.pulled-from'

/** Where a stored image's blobs can be fetched from: its registry origin, else its name. */
export function originOf (stored: StoredImage): string {
  return stored.descriptor.annotations?.[ANNOTATION_PULLED_FROM] ?? stored.name
}

/** What a reference given to a command denotes: see ImageStore.resolve. */
export interface ImageMatch {
  /** `name`: one stored name; `digest`: name@digest; `id`: a bare digest or an ID prefix. */
  readonly by: 'name' | 'digest' | 'id'
  /** The image's root digest. */
  readonly digest: Digest
  /** The matching names (one for `name`), sorted; never empty. */
  readonly images: readonly StoredImage[]
}

export interface StoredImage {
  /** Normalised name, e.g. `docker.io/library/app:latest`. */
  readonly name: string
  /** The image's root: a manifest or an index (multi-platform). */
  readonly descriptor: Descriptor
}

/**
 * Named images, kept in the state dir's `index.json` so that the state dir is
 * a valid OCI image layout. Each entry carries the short ref name
 * (`org.opencontainers.image.ref.name`, what `oci:<root>:<ref>` matches) and
 * the full name. Entries tsbuild did not write are preserved untouched.
 *
 * Reads take no lock (index.json is only ever replaced by rename); every
 * update is read-modify-write under `locks/index.lock`.
 */
export class ImageStore {
  private constructor (private readonly dir: StateDir) {}

  static async open (root: string): Promise<ImageStore> {
    return new ImageStore(await openStateDir(root))
  }

  get root (): string {
    return this.dir.root
  }

  async list (): Promise<StoredImage[]> {
    const index = await this.readIndex()
    const out: StoredImage[] = []
    for (const d of index.manifests) {
      const name = entryName(d)
      if (name !== undefined) out.push({ name, descriptor: d })
    }
    // Code-unit order: localeCompare would load ICU collation (~7 ms) on every build.
    return out.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  }

  /**
   * What `ref` denotes, or undefined when nothing stored matches:
   * - a stored name (`app`, `app:v1`): that one name;
   * - `name[:tag]@sha256:<64 hex>`: every name of that repository whose image
   *   has this root digest (the tag is ignored, as docker ignores it);
   * - a bare `sha256:<hex>` digest or a hex prefix of 6 or more digits (the
   *   image ID that `tsbuild images` shows): every name of that image;
   * - a whole config digest (the image ID buildx's `--iidfile` and `-q` of a
   *   one-platform build give): every name of the manifest with that config.
   * Throws INVALID_REFERENCE for a string that is none of these and for a
   * prefix shared by several images (naming them).
   */
  async resolve (ref: string): Promise<ImageMatch | undefined> {
    const images = await this.list()
    const parsed = tryParseImageName(ref)
    const byName = parsed === undefined ? undefined : images.find((i) => i.name === parsed.fullName)
    if (byName !== undefined) return { by: 'name', digest: byName.descriptor.digest, images: [byName] }
    if (parsed?.digest !== undefined) {
      const same = images.filter((i) => i.descriptor.digest === parsed.digest && repositoryOf(i.name) === parsed.repository)
      return same.length === 0 ? undefined : { by: 'digest', digest: parsed.digest, images: same }
    }
    const hex = /^(?:sha256:)?([a-f0-9]{6,64})$/.exec(ref)?.[1]
    if (hex === undefined) {
      if (parsed === undefined) parseImageName(ref) // throws the grammar error
      return undefined
    }
    const matches = images.filter((i) => i.descriptor.digest.slice('sha256:'.length).startsWith(hex))
    const digests = [...new Set(matches.map((m) => m.descriptor.digest))]
    if (digests.length > 1) {
      const named = digests.map((d) => `${d} (${matches.filter((m) => m.descriptor.digest === d).map((m) => familiarName(m.name)).join(', ')})`)
      throw new TsbuildError('INVALID_REFERENCE', `image ID prefix ${ref} is ambiguous: it matches ${digests.length} images: ${named.join('; ')}`, {
        hint: 'give more digits of the ID, or a name',
      })
    }
    if (matches.length > 0) return { by: 'id', digest: digests[0]!, images: matches }
    return hex.length === 64 ? await this.resolveConfigDigest(`sha256:${hex}` as Digest, images) : undefined
  }

  /** The names of the one-platform image whose config is `config`; a missing or unreadable manifest matches nothing. */
  private async resolveConfigDigest (config: Digest, images: readonly StoredImage[]): Promise<ImageMatch | undefined> {
    for (const i of images) {
      if (!MANIFEST_MEDIA_TYPES.includes(i.descriptor.mediaType)) continue
      const manifest = await readFile(join(this.dir.blobsDir, i.descriptor.digest.slice('sha256:'.length)), 'utf8')
        .then((text) => JSON.parse(text) as { config?: { digest?: string } }, () => undefined)
      if (manifest?.config?.digest !== config) continue
      const root = i.descriptor.digest
      return { by: 'id', digest: root, images: images.filter((x) => x.descriptor.digest === root) }
    }
    return undefined
  }

  /** The image `ref` denotes (see resolve): its first matching name; undefined when absent. */
  async find (ref: string): Promise<StoredImage | undefined> {
    return (await this.resolve(ref))?.images[0]
  }

  /** Like find, but NOT_FOUND names the image when absent. */
  async get (ref: string): Promise<StoredImage> {
    const found = await this.find(ref)
    if (found === undefined) throw await this.notFound(ref)
    return found
  }

  /** Point `name` at `descriptor`, replacing what the name pointed to before. */
  async put (name: string, descriptor: Descriptor): Promise<StoredImage> {
    const { fullName, refName } = parseImageName(name)
    if (!INDEX_MEDIA_TYPES.includes(descriptor.mediaType) && !MANIFEST_MEDIA_TYPES.includes(descriptor.mediaType)) {
      throw new TsbuildError('UNSUPPORTED_MEDIA_TYPE', `cannot name ${descriptor.digest} as ${fullName}: media type ${descriptor.mediaType} is not a manifest or index`)
    }
    const entry: Descriptor = {
      mediaType: descriptor.mediaType,
      digest: descriptor.digest,
      size: descriptor.size,
      ...(descriptor.platform !== undefined ? { platform: descriptor.platform } : {}),
      annotations: { ...stripNames(descriptor.annotations), [ANNOTATION_IMAGE_NAME]: fullName, [ANNOTATION_REF_NAME]: refName },
    }
    // A rebuild that changed nothing names the same image again: leave index.json (and its lock) alone.
    const current = (await this.readIndex()).manifests.filter((d) => entryName(d) === fullName || refNameOf(d) === refName)
    if (current.length === 1 && canonicalJson(current[0]) === canonicalJson(entry)) return { name: fullName, descriptor: current[0]! }
    await this.update((manifests) => [...manifests.filter((d) => entryName(d) !== fullName && refNameOf(d) !== refName), entry])
    return { name: fullName, descriptor: entry }
  }

  /**
   * Remove the names `ref` denotes (see resolve), never the blobs: garbage
   * collection reclaims them. An image ID (digest or prefix) of an image with
   * several names is a CONFLICT unless `force`, which removes them all, as
   * docker's `rmi -f` does. Returns the removed names.
   */
  async remove (ref: string, opts: { force?: boolean } = {}): Promise<StoredImage[]> {
    let removed: readonly StoredImage[] = []
    await this.update(async (manifests) => {
      const match = await this.resolve(ref)
      if (match === undefined) throw await this.notFound(ref)
      if (match.by === 'id' && match.images.length > 1 && opts.force !== true) {
        throw new TsbuildError('CONFLICT', `conflict: unable to delete ${shortId(match.digest)} (must be forced) - image is referenced in multiple repositories: ${match.images.map((i) => familiarName(i.name)).join(', ')}`, {
          hint: `remove the names one by one, or all of them with tsbuild rmi -f ${ref}`,
        })
      }
      removed = match.images
      const names = new Set(removed.map((i) => i.name))
      return manifests.filter((d) => !names.has(entryName(d) ?? ''))
    })
    return [...removed]
  }

  /** Give the image named `src` a second name `dst`. */
  async tag (src: string, dst: string): Promise<StoredImage> {
    const source = await this.get(src)
    return await this.put(dst, source.descriptor)
  }

  /** NOT_FOUND naming `ref`; for `name@digest` whose image is stored under other names, says which. */
  private async notFound (ref: string): Promise<TsbuildError> {
    const digest = tryParseImageName(ref)?.digest
    const others = digest === undefined ? [] : (await this.list()).filter((i) => i.descriptor.digest === digest)
    const hint = others.length > 0
      ? `${digest} is stored as ${others.map((i) => familiarName(i.name)).join(', ')}: use that name, or the bare digest`
      : 'list stored images with `tsbuild images`'
    return new TsbuildError('NOT_FOUND', `image ${JSON.stringify(ref)} not found in ${this.dir.root}`, { hint })
  }

  private async readIndex (): Promise<ImageIndex> {
    let text: string
    try {
      text = await readFile(this.dir.indexPath, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyIndex()
      throw err
    }
    try {
      const index = JSON.parse(text) as ImageIndex
      if (!Array.isArray(index.manifests)) throw new Error('manifests is not an array')
      return index
    } catch (err) {
      throw new TsbuildError('IO', `cannot read the image list ${this.dir.indexPath}: ${(err as Error).message}`, { cause: err })
    }
  }

  private async update (change: (manifests: Descriptor[]) => Descriptor[] | Promise<Descriptor[]>): Promise<void> {
    await withFileLock(join(this.dir.locksDir, 'index.lock'), async () => {
      const index = await this.readIndex()
      const next: ImageIndex = { ...index, schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: await change(index.manifests) }
      const tmp = join(this.dir.tmpDir, `index-${process.pid}-${randomBytes(6).toString('hex')}.json`)
      const fh = await open(tmp, 'wx', 0o644)
      try {
        try {
          await fh.writeFile(JSON.stringify(next, null, 2) + '\n')
          await fh.sync()
        } finally {
          await fh.close()
        }
        await rename(tmp, this.dir.indexPath)
      } catch (err) {
        await unlink(tmp).catch(() => {})
        throw err
      }
    })
  }
}

/** `docker.io/library/app:v1@sha256:…` → `docker.io/library/app`. */
function repositoryOf (fullName: string): string {
  const at = fullName.indexOf('@')
  const name = at >= 0 ? fullName.slice(0, at) : fullName
  const colon = name.lastIndexOf(':')
  return colon > name.lastIndexOf('/') ? name.slice(0, colon) : name
}

/** The short form users type: `docker.io/library/app:v1` → `app:v1`. */
function familiarName (fullName: string): string {
  if (fullName.startsWith('docker.io/library/')) return fullName.slice('docker.io/library/'.length)
  if (fullName.startsWith('docker.io/')) return fullName.slice('docker.io/'.length)
  return fullName
}

/** The 12-digit image ID docker prints. */
function shortId (digest: Digest): string {
  return digest.slice('sha256:'.length, 'sha256:'.length + 12)
}

function emptyIndex (): ImageIndex {
  return { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] }
}

function refNameOf (d: Descriptor): string | undefined {
  return d.annotations?.[ANNOTATION_REF_NAME]
}

/** The full name of an index.json entry; entries from other tools may carry only a ref name. */
function entryName (d: Descriptor): string | undefined {
  const full = d.annotations?.[ANNOTATION_IMAGE_NAME]
  if (full !== undefined) return full
  const ref = refNameOf(d)
  return ref === undefined ? undefined : tryParseImageName(ref)?.fullName
}

function stripNames (annotations: Record<string, string> | undefined): Record<string, string> {
  const { [ANNOTATION_REF_NAME]: _ref, [ANNOTATION_IMAGE_NAME]: _name, ...rest } = annotations ?? {}
  return rest
}
