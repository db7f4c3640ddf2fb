// The `busybox:latest` base image the integration tests build FROM: linux/amd64
// and linux/arm64, made from Debian's busybox-static packages, cached as an OCI
// image layout under .cache/fixtures, and pushed to the loopback registry.
//
// Making the image is one function (makeBusyboxImage): today it assembles the
// layer and manifests with the exporter's functions; once `tsbuild build`
// works it becomes a `FROM scratch` + `COPY rootfs /` build whose result is
// the same kind of layout. Caching and pushing stay as they are.
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { LocalContentStore } from '../../src/cache/index.js'
import type { Descriptor, ImageConfig, ImageIndex } from '../../src/common/oci.js'
import { ANNOTATION_REF_NAME, MediaType } from '../../src/common/oci.js'
import { createExportPool, createLayer, writeImageIndex, writeImageManifest } from '../../src/exporter/index.js'
import { RegistryClient, anonymousCredentials } from '../../src/registry/index.js'
import { ensureBusyboxRootfs } from './busybox.js'

export const FIXTURES_DIR = resolve(import.meta.dirname, '../../.cache/fixtures')
export const BUSYBOX_ARCHES = ['amd64', 'arm64'] as const
type Arch = (typeof BUSYBOX_ARCHES)[number]

/** An OCI image layout on disk and the root (index) it tags as `latest`. */
export interface BusyboxLayout {
  dir: string
  root: Descriptor
}

/**
 * The cached layout, built on first use. The cache key is the busybox .deb
 * file names (package versions), so a Debian update rebuilds the image.
 */
export async function ensureBusyboxLayout (cacheDir: string = FIXTURES_DIR): Promise<BusyboxLayout> {
  const rootfs = new Map<Arch, string>()
  for (const arch of BUSYBOX_ARCHES) rootfs.set(arch, await ensureBusyboxRootfs(arch, cacheDir))
  const debs = (await readdir(cacheDir)).filter((f) => /^busybox-static_.*\.deb$/.test(f)).sort()
  const key = createHash('sha256').update(debs.join('\n')).digest('hex').slice(0, 16)
  const dir = join(cacheDir, `busybox-image-${key}`)
  const cached = await readLayoutRoot(dir)
  if (cached !== undefined) return { dir, root: cached }

  const staging = await mkdtemp(join(cacheDir, '.busybox-image-'))
  try {
    const root = await makeBusyboxImage(staging, rootfs)
    await writeFile(join(staging, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }))
    const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [{ ...root, annotations: { [ANNOTATION_REF_NAME]: 'latest' } }] }
    await writeFile(join(staging, 'index.json'), JSON.stringify(index))
    await rm(join(staging, 'tmp'), { recursive: true, force: true }) // the content store's ingest dir
    await rename(staging, dir).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err // another run made it first; theirs is as good
    })
  } finally {
    await rm(staging, { recursive: true, force: true })
  }
  const root = await readLayoutRoot(dir)
  if (root === undefined) throw new Error(`busybox image layout ${dir} has no index.json after building it`)
  return { dir, root }
}

/** Build the two-platform image into a content store at `dir`; returns the index descriptor. */
async function makeBusyboxImage (dir: string, rootfs: ReadonlyMap<Arch, string>): Promise<Descriptor> {
  const store = new LocalContentStore(dir)
  const pool = await createExportPool({ maxThreads: 2 })
  try {
    const manifests: Descriptor[] = []
    for (const [arch, fsDir] of rootfs) {
      const layer = await createLayer(fsDir, { compression: 'gzip', ociMediaTypes: true, sourceDateEpoch: 0, store, pool })
      const config: ImageConfig = {
        architecture: arch,
        os: 'linux',
        config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] },
        rootfs: { type: 'layers', diff_ids: [] },
        history: [{ created_by: 'busybox-static from Debian (tsbuild test fixture)' }],
      }
      const image = await writeImageManifest(store, { config, layers: [layer], ociMediaTypes: true, sourceDateEpoch: 0 })
      manifests.push(image.manifest)
    }
    return await writeImageIndex(store, manifests, { ociMediaTypes: true })
  } finally {
    await pool.destroy()
  }
}

async function readLayoutRoot (dir: string): Promise<Descriptor | undefined> {
  try {
    const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as ImageIndex
    const d = index.manifests[0]
    return d === undefined ? undefined : { mediaType: d.mediaType, digest: d.digest, size: d.size }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

/** Push the cached image to `<registry>/busybox:latest` (blobs the registry has are skipped); returns that reference. */
export async function pushBusyboxImage (registry: string, cacheDir: string = FIXTURES_DIR): Promise<string> {
  await mkdir(cacheDir, { recursive: true })
  const layout = await ensureBusyboxLayout(cacheDir)
  const ref = `${registry}/busybox:latest`
  const client = new RegistryClient({ auth: anonymousCredentials })
  await client.pushImage(new LocalContentStore(layout.dir), layout.root, ref)
  return ref
}
