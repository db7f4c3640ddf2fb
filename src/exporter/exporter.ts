import { createWriteStream } from 'node:fs'
import { mkdtemp, rename, rm } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ContentStore } from '../cache/content/index.js'
import { ensureDir, ensureFileDest, fsError, isFsError, type FsPurpose } from '../common/ensureDir.js'
import { TsbuildError } from '../common/errors.js'
import type { Descriptor } from '../common/oci.js'
import { formatPlatform } from '../common/platform.js'
import { annotationsFor } from './annotations.js'
import type { AttestationSource } from './attestationManifest.js'
import { writeDockerArchive } from './dockerArchive.js'
import type { ExportPool } from './exportPool.js'
import { layerTarStream } from './layerTar.js'
import { writeOciArchive, writeOciDirectory } from './ociLayout.js'
import type { OutputSpec } from './outputSpec.js'
import { prepareImages } from './prepareImages.js'
import type { ImageSource } from './prepareImages.js'
import { unpackImage } from './rootfs.js'
import { writeLocalAttestations } from './localAttestations.js'

/** Everything an export needs from the caller; nothing is read from the process environment. */
export interface ExportContext {
  store: ContentStore
  pool: ExportPool
  /** Seconds; clamps layer mtimes, sets config/history times and archive member times. */
  sourceDateEpoch?: number
  signal?: AbortSignal
  /** Where `dest=-` writes. */
  stdout?: NodeJS.WritableStream
  /**
   * Attestations of the build. type=oci lists them in its index, local and
   * tar write each as a file beside the root filesystem; inline-only ones go
   * on image outputs alone. type=docker leaves them out: its archive holds
   * the platform image only, as BuildKit's does (docker load keeps none).
   */
  attestations?: AttestationSource
}

export interface ExportResult {
  /** The image's root descriptor (index or manifest), for image outputs. */
  descriptor?: Descriptor
}

/** One output of a build (containerd/BuildKit exporter), made from a parsed `-o` spec. */
export interface Exporter {
  readonly spec: OutputSpec
  export (images: readonly ImageSource[], ctx: ExportContext): Promise<ExportResult>
}

export function createExporter (spec: OutputSpec): Exporter {
  return {
    spec,
    export: async (images, ctx) => {
      if (!('dest' in spec) || spec.dest === '-') return await runExport(spec, images, ctx)
      // A bad destination fails before any layer is prepared, and every filesystem error names the destination.
      const purpose: FsPurpose = { what: `output type=${spec.type}` }
      try {
        if (spec.type === 'local' || (spec.type === 'oci' && !spec.tar)) await ensureDir(spec.dest, purpose)
        else await ensureFileDest(spec.dest, purpose)
        return await runExport(spec, images, ctx)
      } catch (err) {
        throw isFsError(err) ? fsError(err, resolve(spec.dest), purpose, err.path !== undefined && resolve(err.path) !== resolve(spec.dest) ? `${err.syscall ?? 'write'} ${err.path}` : undefined) : err
      }
    },
  }
}

async function runExport (spec: OutputSpec, images: readonly ImageSource[], ctx: ExportContext): Promise<ExportResult> {
  if (images.length === 0) throw new Error('nothing to export')
  const mtime = ctx.sourceDateEpoch ?? 0
  const stdout = ctx.stdout !== undefined ? { stdout: ctx.stdout } : {}
  switch (spec.type) {
    case 'oci':
    case 'docker': {
      if (spec.type === 'docker' && images.length > 1) {
        throw new TsbuildError('USAGE', `type=docker holds one platform, got ${images.length}: use type=oci for a multi-platform image`)
      }
      const { root, images: stored } = await prepareImages(images, {
        store: ctx.store, pool: ctx.pool, compression: spec.compression, forceCompression: spec.forceCompression, ociMediaTypes: spec.ociMediaTypes,
        ...(spec.compressionLevel !== undefined ? { compressionLevel: spec.compressionLevel } : {}),
        ...(ctx.sourceDateEpoch !== undefined ? { sourceDateEpoch: ctx.sourceDateEpoch } : {}),
        annotations: spec.annotations,
        ...(ctx.signal !== undefined ? { signal: ctx.signal } : {}),
        ...(spec.type === 'oci' && ctx.attestations !== undefined && !ctx.attestations.isInlineOnly ? { attestations: ctx.attestations, names: spec.names } : {}),
      })
      // index-descriptor annotations go on the root's entry in the layout's index.json (not part of any digest).
      const annotations = annotationsFor(spec.annotations, 'index-descriptor')
      if (spec.type === 'docker') {
        await writeDockerArchive(ctx.store, stored[0]!.manifest, spec.dest, { names: spec.names, mtime, ...(annotations !== undefined ? { indexAnnotations: annotations } : {}), ...stdout })
        return { descriptor: root }
      }
      const entry = annotations === undefined ? root : { ...root, annotations: { ...root.annotations, ...annotations } }
      if (spec.tar) {
        await writeOciArchive(ctx.store, entry, spec.dest, { names: spec.names, mtime, ...stdout })
      } else {
        if (spec.dest === '-') throw new TsbuildError('USAGE', 'type=oci,tar=false writes a directory; dest=- is not one')
        await writeOciDirectory(ctx.store, entry, spec.dest, { names: spec.names })
      }
      return { descriptor: root }
    }
    case 'local':
    case 'tar':
      await exportRootfs(spec.type, spec.dest, images, ctx)
      return {}
    case 'image':
    case 'registry':
      throw new TsbuildError('NOT_IMPLEMENTED_YET', `type=${spec.type} outputs are parsed but not exported yet`)
  }
}

/** The root filesystem(s): one subdirectory per platform (`linux_amd64`) when there are several, as buildx does. */
async function exportRootfs (type: 'local' | 'tar', dest: string, images: readonly ImageSource[], ctx: ExportContext): Promise<void> {
  // Layers go through the store uncompressed: they are unpacked right away, so compressing them would be wasted work.
  const { images: stored } = await prepareImages(images, {
    store: ctx.store, pool: ctx.pool, compression: 'uncompressed', forceCompression: false, ociMediaTypes: true,
    ...(ctx.sourceDateEpoch !== undefined ? { sourceDateEpoch: ctx.sourceDateEpoch } : {}),
  })
  const target = type === 'local' ? dest : await mkdtemp(join(dest === '-' ? '/tmp' : dirname(dest), '.tsbuild-rootfs-'))
  try {
    for (const img of stored) {
      const root = stored.length === 1 ? target : join(target, formatPlatform(img.platform).replaceAll('/', '_'))
      // The tar's staging dir is private (mkdtemp), so its device nodes may keep the image's modes.
      await unpackImage(ctx.store, img.manifest, root, { exactDeviceModes: type === 'tar' })
      if (ctx.attestations !== undefined && !ctx.attestations.isInlineOnly) {
        await writeLocalAttestations(root, ctx.attestations, img.platform, ctx.sourceDateEpoch)
      }
    }
    if (type === 'tar') {
      const body = Readable.from(layerTarStream(target, ctx.sourceDateEpoch !== undefined ? { sourceDateEpoch: ctx.sourceDateEpoch } : {}))
      if (dest === '-') {
        if (ctx.stdout === undefined) throw new Error('dest=- needs ctx.stdout (the CLI sends it through a temp file)')
        await pipeline(body, ctx.stdout, { end: false })
      } else {
        const tmp = `${dest}.tmp-${process.pid}`
        await pipeline(body, createWriteStream(tmp))
        await rename(tmp, dest)
      }
    }
  } finally {
    if (type === 'tar') await rm(target, { recursive: true, force: true })
  }
}
