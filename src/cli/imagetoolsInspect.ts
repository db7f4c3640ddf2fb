import { TsbuildError } from '../common/errors.js'
import { ANNOTATION_PREDICATE_TYPE, ANNOTATION_REFERENCE_DIGEST, INDEX_MEDIA_TYPES, IN_TOTO_MEDIA_TYPE, isAttestationEntry, type Descriptor, type ImageConfig, type ImageIndex, type ImageManifest } from '../common/oci.js'
import { formatPlatform, normalizePlatform } from '../common/platform.js'
import { formatReference, type FetchedManifest, type ImageReference, type RegistryClient } from '../registry/index.js'
import type { CommandIo } from './io.js'

export interface InspectOptions {
  raw: boolean
  /** `json`, or one of the buildx templates tsbuild knows. */
  format?: string
}

type FormatKind = 'text' | 'json' | 'manifest-json' | AttestationKind

/** Spaces inside actions are dropped as Go's template parser drops them, so `{{ json .SBOM }}` is `{{json .SBOM}}`. */
function normalizeTemplate (format: string): string {
  return format.trim().replace(/\{\{\s*(.*?)\s*\}\}/g, (_all, inner: string) => `{{${inner.replace(/\s+/g, ' ')}}}`)
}

function formatKind (format: string | undefined): FormatKind {
  if (format === undefined || format === '') return 'text'
  const f = normalizeTemplate(format)
  if (f === 'json' || f === '{{json .}}') return 'json'
  if (f === '{{json .Manifest}}') return 'manifest-json'
  if (f === '{{json .Provenance}}') return 'Provenance'
  if (f === '{{json .SBOM}}') return 'SBOM'
  if (f.startsWith('{{.Manifest')) return 'text' // buildx prints the text form for any {{.Manifest…}} template
  throw new TsbuildError('USAGE', `--format ${JSON.stringify(format)} is not supported: use json, {{json .}}, {{json .Manifest}}, {{json .Provenance}}, {{json .SBOM}} or {{.Manifest}}`)
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
  if (kind === 'Provenance' || kind === 'SBOM') {
    const predicates = doc.isIndex ? await attestationPredicates(client, ref, doc, kind, signal) : new Map([['', []]])
    io.stdout.write(goJson(attestationView(kind, predicates)) + '\n')
    return
  }
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

/** The image config; for an index, one per platform keyed `os/arch[/variant]` (attestations left out). */
async function imageView (client: RegistryClient, ref: ImageReference, doc: FetchedManifest, opts: { signal?: AbortSignal }): Promise<unknown> {
  if (!doc.isIndex) return await readConfig(client, ref, doc.parsed as ImageManifest, opts)
  const out: Record<string, ImageConfig> = {}
  for (const d of (doc.parsed as ImageIndex).manifests) {
    if (isAttestationEntry(d) || d.platform === undefined) continue
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

/** `.Provenance` reads SLSA provenance statements, `.SBOM` SPDX ones. */
export type AttestationKind = 'Provenance' | 'SBOM'

const REFERENCE_DIGEST_ANNOTATIONS = ['com.docker.reference.digest', ANNOTATION_REFERENCE_DIGEST]

function wantsLayer (kind: AttestationKind, layer: Descriptor): boolean {
  const isInToto = layer.mediaType === IN_TOTO_MEDIA_TYPE || /^application\/vnd\.in-toto\..*\+dsse$/.test(layer.mediaType)
  const predicateType = layer.annotations?.[ANNOTATION_PREDICATE_TYPE] ?? ''
  return isInToto && (kind === 'Provenance' ? predicateType.startsWith('https://slsa.dev/provenance/') : predicateType === 'https://spdx.dev/Document')
}

/**
 * For every image platform of an index (`os/arch[/variant]`), the predicates
 * of the statements of one kind that its attestation manifests hold, in
 * index order. A platform with none maps to an empty list. Nested indexes are
 * walked, as buildx walks them.
 */
export async function attestationPredicates (client: RegistryClient, ref: ImageReference, doc: FetchedManifest, kind: AttestationKind, opts: { signal?: AbortSignal }): Promise<Map<string, unknown[][]>> {
  const images = new Map<string, string>()
  const refs = new Map<string, ImageManifest[]>()
  const walk = async (index: ImageIndex): Promise<void> => {
    for (const d of index.manifests) {
      const child = await client.fetchManifest(ref, { ...opts, reference: d.digest, expected: d })
      if (INDEX_MEDIA_TYPES.includes(d.mediaType) || child.isIndex) { await walk(child.parsed as ImageIndex); continue }
      const manifest = child.parsed as ImageManifest
      const target = REFERENCE_DIGEST_ANNOTATIONS.map((a) => d.annotations?.[a]).find((v) => v !== undefined)
      if (target !== undefined) { refs.set(target, [...(refs.get(target) ?? []), manifest]); continue }
      const platform = d.platform ?? await platformFromConfig(client, ref, manifest, opts)
      images.set(formatPlatform(normalizePlatform(platform)), d.digest)
    }
  }
  await walk(doc.parsed as ImageIndex)
  const out = new Map<string, unknown[][]>()
  for (const [platform, digest] of images) {
    const perManifest: unknown[][] = []
    for (const manifest of refs.get(digest) ?? []) {
      const predicates: unknown[] = []
      for (const layer of manifest.layers.filter((l) => wantsLayer(kind, l))) predicates.push(await readPredicate(client, ref, layer, opts))
      perManifest.push(predicates)
    }
    out.set(platform, perManifest)
  }
  return out
}

async function platformFromConfig (client: RegistryClient, ref: ImageReference, manifest: ImageManifest, opts: { signal?: AbortSignal }): Promise<{ os: string; architecture: string; variant?: string }> {
  const c = await readConfig(client, ref, manifest, opts)
  return { os: c.os ?? '', architecture: c.architecture ?? '', ...(c.variant !== undefined ? { variant: c.variant } : {}) }
}

/** The `predicate` of an in-toto statement layer, unwrapping a DSSE envelope. */
async function readPredicate (client: RegistryClient, ref: ImageReference, layer: Descriptor, opts: { signal?: AbortSignal }): Promise<unknown> {
  const bytes = await client.fetchSmallBlob(ref, layer, opts)
  try {
    let statement = JSON.parse(bytes.toString('utf8')) as { predicate?: unknown; payload?: string }
    if (layer.mediaType.endsWith('+dsse')) statement = JSON.parse(Buffer.from(statement.payload ?? '', 'base64').toString('utf8')) as { predicate?: unknown }
    return statement.predicate
  } catch (err) {
    throw new TsbuildError('UNSUPPORTED_MEDIA_TYPE', `image ${formatReference(ref)}: attestation ${layer.digest} is not a valid in-toto statement`, { cause: err })
  }
}

/**
 * What buildx's `{{json .Provenance}}` / `{{json .SBOM}}` print: with one
 * image platform (or none), that platform's `{"SLSA": …}` / `{"SPDX": …,
 * "AdditionalSPDXs": […]}` or `{}` when it has none; with several, an object
 * keyed by platform that leaves out the platforms without one. As buildx,
 * provenance is the first statement of the last attestation manifest that
 * has one; SBOMs are all statements in order, the first as SPDX. Keys of
 * predicates are sorted, as Go marshals the maps it decoded them into.
 */
export function attestationView (kind: AttestationKind, predicates: ReadonlyMap<string, ReadonlyArray<readonly unknown[]>>): unknown {
  const stubOf = (perManifest: ReadonlyArray<readonly unknown[]>): Record<string, unknown> | undefined => {
    const withAny = perManifest.filter((p) => p.length > 0)
    if (withAny.length === 0) return undefined
    if (kind === 'Provenance') return omitUndefined({ SLSA: sortKeysDeep(withAny[withAny.length - 1]![0]) })
    const [first, ...rest] = withAny.flat().map(sortKeysDeep)
    return omitUndefined({ SPDX: first, AdditionalSPDXs: rest.length > 0 ? rest : undefined })
  }
  if (predicates.size <= 1) return stubOf([...predicates.values()][0] ?? []) ?? {}
  const out: Record<string, unknown> = {}
  for (const platform of [...predicates.keys()].sort()) {
    const stub = stubOf(predicates.get(platform)!)
    if (stub !== undefined) out[platform] = stub
  }
  return out
}

const omitUndefined = (o: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null))

/** A decoded document as Go holds it: every object is a map, so it marshals with its keys sorted. */
function sortKeysDeep (v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeysDeep)
  if (v === null || typeof v !== 'object') return v
  const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return Object.fromEntries(entries.map(([k, x]) => [k, sortKeysDeep(x)]))
}

const GO_ESCAPES: Record<string, string> = { '<': '\\u003c', '>': '\\u003e', '&': '\\u0026', '\u2028': '\\u2028', '\u2029': '\\u2029' }

/** Indented JSON as Go's json.MarshalIndent writes it: <, >, & and the line/paragraph separators escaped. */
export function goJson (value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c]!)
}
