import type { LocalContentStore } from '../../cache/index.js'
import { findTsbuildError, TsbuildError } from '../../common/errors.js'
import type { Descriptor, ImageIndex, ImageManifest } from '../../common/oci.js'
import { MAX_MANIFEST_SIZE, parseManifestBytes, type RegistryClient } from '../../registry/index.js'

/**
 * Bring into the store the blobs of a stored image that it lacks, from the
 * registry its name points at. A build that pushed (`--push`) stores the
 * image too but leaves layers an imported cache listed in the registry,
 * where the push found them; `save` and `push` need their bytes.
 */
export async function fetchMissingBlobs (content: LocalContentStore, root: Descriptor, image: string, from: string, client: RegistryClient, signal?: AbortSignal): Promise<void> {
  const blobs: Descriptor[] = []
  const walk = async (desc: Descriptor): Promise<void> => {
    const bytes = await content.readBytes(desc.digest, { maxSize: MAX_MANIFEST_SIZE })
    const doc = parseManifestBytes(bytes, { image: from, contentType: desc.mediaType, digest: desc.digest })
    if (doc.isIndex) {
      for (const child of (doc.parsed as ImageIndex).manifests) if (await content.info(child.digest) !== undefined) await walk(child)
    } else {
      const m = doc.parsed as ImageManifest
      blobs.push(m.config, ...m.layers)
    }
  }
  await walk(root)
  for (const b of blobs) {
    // A blob cut short (a full disk, once) is as good as missing.
    if ((await content.info(b.digest))?.size === b.size) continue
    try {
      await client.fetchBlob(from, b, content, signal !== undefined ? { signal } : {})
    } catch (err) {
      const cause = findTsbuildError(err)?.message ?? (err as Error).message
      throw new TsbuildError('NOT_FOUND', `image ${image}: layer ${b.digest} is not in the local store and could not be fetched from ${from}: ${cause}`, {
        cause: err, hint: 'a --push build leaves layers the registry already had there; they are fetched from where the image was pushed',
      })
    }
  }
}
