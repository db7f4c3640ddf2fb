import { TsbuildError } from '../common/errors.js'
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest } from '../common/oci.js'
import { formatPlatform } from '../common/platform.js'
import { formatReference, type FetchedManifest, type ImageReference, type RegistryClient } from '../registry/index.js'
import type { CommandIo } from './io.js'

export interface InspectOptions {
  raw: boolean
  /** `json`, or one of the buildx templates tsbuild knows. */
  format?: string
}

type FormatKind = 'text' | 'json' | 'manifest-json'

function formatKind (format: string | undefined): FormatKind {
  if (format === undefined || format === '') return 'text'
  const f = format.trim()
  if (f === 'json' || f === '{{json .}}') return 'json'
  if (f === '{{json .Manifest}}') return 'manifest-json'
  if (f.startsWith('{{.Manifest')) return 'text' // buildx prints the text form for any {{.Manifest…}} template
  throw new TsbuildError('USAGE', `--format ${JSON.stringify(format)} is not supported: use json, {{json .}}, {{json .Manifest}} or {{.Manifest}}`)
}

/**
 * `imagetools inspect`: what buildx prints. The text form is aligned as Go's
 * tabwriter aligns it (a label column one space wider than its widest label,
 * per block), so scripts that cut its columns read it the same way.
 */
export async function inspectImage (client: RegistryClient, ref: ImageReference, opts: InspectOptions, io: CommandIo): Promise<void> {
  const kind = formatKind(opts.format)
  const signal = io.signal !== undefined ? { signal: io.signal } : {}
  const doc = await client.fetchManifest(ref, signal)
  if (opts.raw) { io.stdout.write(doc.bytes); return }
  if (kind === 'text') { io.stdout.write(formatInspectText(ref, doc)); return }
  const manifest = manifestView(doc)
  if (kind === 'manifest-json') { io.stdout.write(JSON.stringify(manifest, null, 2) + '\n'); return }
  const image = await imageView(client, ref, doc, signal)
  io.stdout.write(JSON.stringify({ name: formatReference(ref), manifest, image }, null, 2) + '\n')
}

function manifestView (doc: FetchedManifest): unknown {
  if (!doc.isIndex) return doc.descriptor
  const idx = doc.parsed as ImageIndex
  return { schemaVersion: idx.schemaVersion, mediaType: idx.mediaType, digest: doc.descriptor.digest, size: doc.descriptor.size, manifests: idx.manifests, annotations: idx.annotations }
}

const isAttestation = (d: Descriptor): boolean => d.annotations?.['vnd.docker.reference.type'] !== undefined

/** The image config; for an index, one per platform keyed `os/arch[/variant]` (attestations left out). */
async function imageView (client: RegistryClient, ref: ImageReference, doc: FetchedManifest, opts: { signal?: AbortSignal }): Promise<unknown> {
  if (!doc.isIndex) return await readConfig(client, ref, doc.parsed as ImageManifest, opts)
  const out: Record<string, ImageConfig> = {}
  for (const d of (doc.parsed as ImageIndex).manifests) {
    if (isAttestation(d) || d.platform === undefined) continue
    const child = await client.fetchManifest(ref, { ...opts, reference: d.digest, expected: d })
    if (child.isIndex) continue
    out[formatPlatform(d.platform)] = await readConfig(client, ref, child.parsed as ImageManifest, opts)
  }
  return out
}

/** Read and parse an image config (a small blob) from the image's repository. */
export async function readConfig (client: RegistryClient, ref: ImageReference, manifest: ImageManifest, opts: { signal?: AbortSignal }): Promise<ImageConfig> {
  const bytes = await client.fetchSmallBlob(ref, manifest.config, opts)
  try {
    return JSON.parse(bytes.toString('utf8')) as ImageConfig
  } catch (err) {
    throw new TsbuildError('UNSUPPORTED_MEDIA_TYPE', `image ${formatReference(ref)}: config ${manifest.config.digest} is not valid JSON`, { cause: err })
  }
}

/** Lines of `label<TAB>value`, the labels padded to one column (a flushed tabwriter block). */
function block (rows: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(...rows.map(([label]) => label.length)) + 1
  return rows.map(([label, value]) => `${label.padEnd(width)}${value}\n`).join('')
}

/** The text form of `inspect` (exported for its tests). */
export function formatInspectText (ref: ImageReference, doc: FetchedManifest): string {
  let out = block([['Name:', formatReference(ref)], ['MediaType:', doc.descriptor.mediaType], ['Digest:', doc.descriptor.digest]])
  if (!doc.isIndex) return out
  out += block([['', ''], ['Manifests:', '']])
  const pfx = '  '
  let rows: Array<readonly [string, string]> = []
  const flush = (): void => { if (rows.length > 0) out += block(rows); rows = [] }
  ;(doc.parsed as ImageIndex).manifests.forEach((m, i) => {
    if (i !== 0) rows.push(['', ''])
    rows.push([`${pfx}Name:`, formatReference({ ...ref, digest: m.digest })], [`${pfx}MediaType:`, m.mediaType])
    const p = m.platform
    if (p === undefined) return
    rows.push([`${pfx}Platform:`, formatPlatform(p)])
    if (p['os.version'] !== undefined && p['os.version'] !== '') rows.push([`${pfx}OSVersion:`, p['os.version']])
    if (p['os.features'] !== undefined && p['os.features'].length > 0) rows.push([`${pfx}OSFeatures:`, p['os.features'].join(', ')])
    if (m.urls !== undefined && m.urls.length > 0) rows.push([`${pfx}URLs:`, m.urls.join(', ')])
    const annotations = Object.entries(m.annotations ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    if (annotations.length > 0) {
      rows.push([`${pfx}Annotations:`, ''])
      flush()
      out += block(annotations.map(([k, v]) => [`${pfx}${pfx}${k}:`, v] as const))
    }
  })
  flush()
  return out
}
