import { randomBytes } from 'node:crypto'
import { open, readFile, rename, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { canonicalJson } from '../../common/digest.js'
import { TsbuildError } from '../../common/errors.js'
import { ANNOTATION_REF_NAME, INDEX_MEDIA_TYPES, MANIFEST_MEDIA_TYPES, MediaType } from '../../common/oci.js'
import type { Descriptor, ImageIndex } from '../../common/oci.js'
import { openStateDir } from '../stateDir.js'
import type { StateDir } from '../stateDir.js'
import { withFileLock } from './fileLock.js'
import { parseImageName, tryParseImageName } from './imageName.js'

/** containerd's annotation for the full image name, kept beside the short ref name. */
export const ANNOTATION_IMAGE_NAME = 'io.containerd.image.name'

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

  /** The image with this name, or (for `sha256:…`/hex prefixes) this digest; undefined when absent. */
  async find (nameOrDigest: string): Promise<StoredImage | undefined> {
    const images = await this.list()
    const parsed = tryParseImageName(nameOrDigest)
    const byName = parsed === undefined ? undefined : images.find((i) => i.name === parsed.fullName)
    if (byName !== undefined) return byName
    const hex = /^(?:sha256:)?([a-f0-9]{6,64})$/.exec(nameOrDigest)?.[1]
    if (hex === undefined) {
      if (parsed === undefined) parseImageName(nameOrDigest) // throws the grammar error
      return undefined
    }
    const matches = images.filter((i) => i.descriptor.digest.slice('sha256:'.length).startsWith(hex))
    const digests = new Set(matches.map((m) => m.descriptor.digest))
    if (digests.size > 1) {
      throw new TsbuildError('INVALID_REFERENCE', `digest prefix ${nameOrDigest} matches ${digests.size} images; give more digits`)
    }
    return matches[0]
  }

  /** Like find, but NOT_FOUND names the image when absent. */
  async get (nameOrDigest: string): Promise<StoredImage> {
    const found = await this.find(nameOrDigest)
    if (found === undefined) {
      throw new TsbuildError('NOT_FOUND', `image ${JSON.stringify(nameOrDigest)} not found in ${this.dir.root}`, {
        hint: 'list stored images with `tsbuild images`',
      })
    }
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

  /** Remove the name (not the blobs: garbage collection reclaims them). */
  async remove (nameOrDigest: string): Promise<StoredImage> {
    let removed: StoredImage | undefined
    await this.update(async (manifests) => {
      removed = await this.find(nameOrDigest)
      if (removed === undefined) await this.get(nameOrDigest) // throws NOT_FOUND
      return manifests.filter((d) => entryName(d) !== removed!.name)
    })
    return removed!
  }

  /** Give the image named `src` a second name `dst`. */
  async tag (src: string, dst: string): Promise<StoredImage> {
    const source = await this.get(src)
    return await this.put(dst, source.descriptor)
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
