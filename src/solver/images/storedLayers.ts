import type { ContentStore } from '../../cache/index.js'
import { findTsbuildError, TsbuildError } from '../../common/errors.js'
import type { Descriptor, ImageIndex, ImageManifest } from '../../common/oci.js'
import { formatReference, MAX_MANIFEST_SIZE, parseManifestBytes, type ImageReference, type RegistryClient } from '../../registry/index.js'

/**
 * Fetch one blob a stored image lacks from the registry it came from (or was
 * pushed to): a build that pushed leaves layers the registry already had
 * there. A failure names the image, the blob, where it was looked for and why.
 */
export async function fetchStoredLayer (client: RegistryClient, from: string | ImageReference, desc: Descriptor, content: ContentStore, image: string, signal?: AbortSignal): Promise<void> {
  try {
    await client.fetchBlob(from, desc, content, signal !== undefined ? { signal } : {})
  } catch (err) {
    const cause = findTsbuildError(err)?.message ?? (err as Error).message
    const where = typeof from === 'string' ? from : formatReference(from)
    throw new TsbuildError('NOT_FOUND', `image ${image}: layer ${desc.digest} is missing from the local store and could not be fetched from ${where}: ${cause}`, {
      cause: err, hint: 'a --push build leaves layers the registry already had there; they are fetched from where the image was pushed',
    })
  }
}

/**
 * Bring into the store every blob of a stored image (each platform of an
 * index) that it lacks or holds cut short, from `from`. `save` needs them all.
 */
export async function fetchMissingBlobs (content: ContentStore, root: Descriptor, image: string, from: string, client: RegistryClient, signal?: AbortSignal): Promise<void> {
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
    if ((await content.info(b.digest))?.size !== b.size) await fetchStoredLayer(client, from, b, content, image, signal)
  }
}
