import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { Transform } from 'node:stream'
import type { ContentProvider } from '../cache/content/index.js'
import { canonicalJson, digestHex, sha256 } from '../common/digest.js'
import type { Digest } from '../common/digest.js'
import { TsbuildError } from '../common/errors.js'
import { MediaType } from '../common/oci.js'
import type { Descriptor, ImageConfig, ImageManifest } from '../common/oci.js'
import { writeArchive } from './archive.js'
import type { ArchiveMember } from './archive.js'
import { openUncompressed } from './layer.js'
import { layoutIndex } from './ociLayout.js'
import { familiarName, parseReference } from '../registry/index.js'

export interface DockerArchiveOptions {
  names: readonly string[]
  /** `index-descriptor:` annotations, for the image's entry in index.json. */
  indexAnnotations?: Record<string, string>
  mtime: number
  stdout?: NodeJS.WritableStream
}

/**
 * Write a `docker save` archive (the layout `docker load` and `podman load`
 * read): manifest.json, repositories, the config, and each layer as an
 * uncompressed tar named by its diffID, as Docker 25+ lays it out under
 * blobs/sha256. Layers are uncompressed into a private temp dir first,
 * because a tar header needs the size, and checked against their diffIDs.
 */
export async function writeDockerArchive (store: ContentProvider, manifestDesc: Descriptor, dest: string, opts: DockerArchiveOptions): Promise<void> {
  const manifest = JSON.parse((await store.readBytes(manifestDesc.digest)).toString()) as ImageManifest
  const config = JSON.parse((await store.readBytes(manifest.config.digest)).toString()) as ImageConfig
  const diffIDs = config.rootfs.diff_ids
  if (diffIDs.length !== manifest.layers.length) throw new Error(`image ${manifestDesc.digest}: ${manifest.layers.length} layers but ${diffIDs.length} diff_ids`)
  const staging = await mkdtemp(join(tmpdir(), 'tsbuild-docker-archive-'))
  try {
    const layerMembers = new Map<Digest, ArchiveMember>()
    const layerSizes = new Map<Digest, number>()
    for (const [i, layer] of manifest.layers.entries()) {
      const diffID = diffIDs[i]!
      if (layerMembers.has(diffID)) continue
      const path = join(staging, digestHex(diffID))
      await uncompressVerified(store, layer, diffID, path)
      const size = (await stat(path)).size
      layerSizes.set(diffID, size)
      layerMembers.set(diffID, { name: `blobs/sha256/${digestHex(diffID)}`, kind: 'file', size, path })
    }
    const repoTags = opts.names.map(withDefaultTag)
    const manifestJson = [{
      Config: `blobs/sha256/${digestHex(manifest.config.digest)}`,
      RepoTags: repoTags,
      Layers: diffIDs.map((d) => `blobs/sha256/${digestHex(d)}`),
    }]
    const repositories: Record<string, Record<string, string>> = {}
    for (const tag of repoTags) {
      const at = tag.lastIndexOf(':')
      ;(repositories[tag.slice(0, at)] ??= {})[tag.slice(at + 1)] = digestHex(diffIDs[diffIDs.length - 1] ?? manifest.config.digest)
    }
    // As `docker save` (25+) and BuildKit's type=docker write it, the archive is an OCI
    // layout too (oci-layout, index.json, a manifest naming the uncompressed layers), so
    // tools that read OCI archives (skopeo oci-archive:, ctr import) take it as well.
    const layerType = manifest.mediaType === MediaType.dockerManifest ? MediaType.dockerLayer : MediaType.ociLayer
    const saved: ImageManifest = {
      schemaVersion: 2,
      mediaType: manifest.mediaType ?? MediaType.ociManifest,
      config: { mediaType: manifest.config.mediaType, digest: manifest.config.digest, size: manifest.config.size },
      layers: diffIDs.map((d) => ({ mediaType: layerType, digest: d, size: layerSizes.get(d)! })),
      ...(manifest.annotations !== undefined ? { annotations: manifest.annotations } : {}),
    }
    const savedBytes = Buffer.from(JSON.stringify(saved))
    const savedDigest = sha256(savedBytes)
    const platform = { os: config.os, architecture: config.architecture, ...(config.variant !== undefined && config.variant !== '' ? { variant: config.variant } : {}) }
    const index = layoutIndex({ mediaType: saved.mediaType!, digest: savedDigest, size: savedBytes.length, platform, ...(opts.indexAnnotations !== undefined ? { annotations: opts.indexAnnotations } : {}) }, opts.names)
    const members: ArchiveMember[] = [
      { name: 'blobs', kind: 'dir' },
      { name: 'blobs/sha256', kind: 'dir' },
      { name: `blobs/sha256/${digestHex(manifest.config.digest)}`, kind: 'file', size: manifest.config.size, path: store.path(manifest.config.digest) },
      ...layerMembers.values(),
      { name: `blobs/sha256/${digestHex(savedDigest)}`, kind: 'bytes', data: savedBytes },
      { name: 'index.json', kind: 'bytes', data: Buffer.from(canonicalJson(index)) },
      { name: 'manifest.json', kind: 'bytes', data: Buffer.from(JSON.stringify(manifestJson)) },
      { name: 'oci-layout', kind: 'bytes', data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
      { name: 'repositories', kind: 'bytes', data: Buffer.from(JSON.stringify(repositories)) },
    ]
    await writeArchive(dest, members, { mtime: opts.mtime, ...(opts.stdout !== undefined ? { stdout: opts.stdout } : {}) })
  } finally {
    await rm(staging, { recursive: true, force: true })
  }
}

async function uncompressVerified (store: ContentProvider, layer: Descriptor, diffID: Digest, path: string): Promise<void> {
  const hash = createHash('sha256')
  const tap = new Transform({ transform (chunk: Buffer, _enc, cb) { hash.update(chunk); cb(null, chunk) } })
  await pipeline(openUncompressed(store, layer), tap, createWriteStream(path))
  const got = `sha256:${hash.digest('hex')}`
  if (got !== diffID) throw new TsbuildError('DIGEST_MISMATCH', `layer ${layer.digest} uncompresses to ${got}, but the image config lists ${diffID}`)
}

/**
 * Docker needs a tag in RepoTags, in the familiar form `docker save` writes:
 * `app` → `app:latest`, `docker.io/library/web:2` → `web:2`; digests cannot be loaded as tags.
 */
function withDefaultTag (name: string): string {
  if (name.includes('@')) throw new TsbuildError('USAGE', `image name ${name} has a digest; type=docker needs name:tag`)
  return familiarName(parseReference(name))
}

