import { TsbuildError } from '../common/errors.js'
import { parseAnnotationField, type Annotation } from './annotations.js'
import type { Compression } from './compression.js'

/** Options shared by every output that writes image blobs. */
export interface ImageOutputOptions {
  compression: Compression
  compressionLevel?: number
  /** Recompress base-image layers whose compression differs from `compression`. */
  forceCompression: boolean
  ociMediaTypes: boolean
  /** Image names to record (`name=` in the spec). */
  names: string[]
  /** `annotation*=` fields of the spec, then the build's `--annotation`s. */
  annotations: Annotation[]
}

/** How an image output pushes (`type=image,push=true` and `type=registry`). */
export interface ImagePushOptions {
  /** `push-by-digest=true`: the manifest goes under its digest, no tag (the names are repositories). */
  pushByDigest: boolean
  /** `name-canonical=true`: `NAME@DIGEST` is reported among the pushed names too. */
  nameCanonical: boolean
}

/** One `-o` output, parsed once at the command-line edge. */
export type OutputSpec =
  | ({ type: 'oci'; dest: string; tar: boolean } & ImageOutputOptions)
  | ({ type: 'docker'; dest: string } & ImageOutputOptions)
  | ({ type: 'image'; push: boolean } & ImageOutputOptions & ImagePushOptions)
  | ({ type: 'registry' } & ImageOutputOptions & ImagePushOptions)
  | { type: 'local'; dest: string }
  | { type: 'tar'; dest: string }

const TYPES = ['oci', 'docker', 'image', 'registry', 'local', 'tar'] as const
// rewrite-timestamp is accepted for buildx's spelling: with SOURCE_DATE_EPOCH,
// tsbuild always clamps layer times to it (see layerTar.ts), so true is what it does anyway.
const IMAGE_KEYS = ['name', 'compression', 'compression-level', 'force-compression', 'oci-mediatypes', 'rewrite-timestamp']
const PUSH_KEYS = ['push-by-digest', 'name-canonical']
const KEYS: Record<OutputSpec['type'], readonly string[]> = {
  oci: ['dest', 'tar', ...IMAGE_KEYS],
  docker: ['dest', ...IMAGE_KEYS],
  image: ['push', ...IMAGE_KEYS, ...PUSH_KEYS],
  registry: [...IMAGE_KEYS, ...PUSH_KEYS],
  local: ['dest'],
  tar: ['dest'],
}

/**
 * Parse buildx's `-o` spelling: `type=oci,dest=out.tar,compression=zstd`.
 * A bare path is `type=local,dest=PATH`, and `-` is `type=tar,dest=-` (the
 * root filesystem as a tar on stdout), as in buildx. `dest=-` means stdout,
 * and so does a missing dest= of a tar or OCI archive (buildx's default).
 */
export function parseOutputSpec (spec: string): OutputSpec {
  const text = spec.trim()
  if (text === '') throw usage(spec, 'empty output; expected e.g. type=oci,dest=out.tar')
  if (text === '-') return { type: 'tar', dest: '-' }
  if (!text.includes('=')) return { type: 'local', dest: text }
  const fields = new Map<string, string>()
  const annotations: Annotation[] = []
  for (const part of splitFields(text)) {
    const eq = part.indexOf('=')
    if (eq <= 0) throw usage(spec, `${JSON.stringify(part)} is not key=value`)
    // Annotation keys keep their case; every other key is case-insensitive.
    const annotated = parseAnnotationField(part.slice(0, eq).trim(), part.slice(eq + 1).trim())
    if (annotated !== undefined) { annotations.push(...annotated); continue }
    const key = part.slice(0, eq).trim().toLowerCase()
    if (fields.has(key)) throw usage(spec, `key ${JSON.stringify(key)} given twice`)
    fields.set(key, part.slice(eq + 1).trim())
  }
  const type = fields.get('type')
  if (type === undefined) throw usage(spec, 'missing type= (one of ' + TYPES.join(', ') + ')')
  if (!(TYPES as readonly string[]).includes(type)) throw usage(spec, `unknown type ${JSON.stringify(type)}; expected one of ${TYPES.join(', ')}`)
  const t = type as OutputSpec['type']
  for (const key of fields.keys()) {
    if (key !== 'type' && !KEYS[t].includes(key)) throw usage(spec, `unknown key ${JSON.stringify(key)} for type=${t}; allowed: ${KEYS[t].join(', ')}`)
  }
  const dest = (): string => {
    const d = fields.get('dest')
    if (d === undefined || d === '') throw usage(spec, `type=${t} needs dest=`)
    return d
  }
  // As buildx: an archive output without dest= is written to stdout (a terminal is refused, as for dest=-).
  const archiveDest = (): string => fields.get('dest') || '-'
  if (annotations.length > 0 && (t === 'local' || t === 'tar')) throw usage(spec, `type=${t} writes files, not an image, so it takes no annotations`)
  switch (t) {
    case 'local':
      if (dest() === '-') throw usage(spec, 'type=local writes a directory, and stdout (dest=-) is not one; use type=tar for a tar on stdout')
      return { type: t, dest: dest() }
    case 'tar': return { type: t, dest: archiveDest() }
    case 'oci': {
      const tar = parseBool(spec, fields, 'tar', true)
      if (!tar && dest() === '-') throw usage(spec, 'tar=false writes a directory, and stdout (dest=-) is not one')
      return { type: t, dest: tar ? archiveDest() : dest(), tar, ...imageOptions(spec, fields, true, annotations) }
    }
    case 'docker':
      // buildx loads such an image into the docker daemon; tsbuild's --load keeps it in its own store.
      if (!fields.get('dest')) throw usage(spec, 'type=docker without dest= loads the image into a docker daemon, and tsbuild has none: use --load -t NAME (tsbuild\'s image store) or dest=FILE (an archive for docker load)')
      return { type: t, dest: dest(), ...imageOptions(spec, fields, false, annotations) }
    // One media type family for every way of naming or pushing an image (-t, --push,
    // type=image, type=registry): OCI, as buildx pushes by default; type=docker is for docker load.
    case 'image': return { type: t, push: parseBool(spec, fields, 'push', false), ...imageOptions(spec, fields, true, annotations), ...pushOptions(spec, fields) }
    case 'registry': return { type: t, ...imageOptions(spec, fields, true, annotations), ...pushOptions(spec, fields) }
  }
}

function imageOptions (spec: string, fields: Map<string, string>, ociDefault: boolean, annotations: Annotation[]): ImageOutputOptions {
  const c = fields.get('compression') ?? 'gzip'
  if (c !== 'gzip' && c !== 'zstd' && c !== 'uncompressed') {
    throw usage(spec, `compression=${c} is not one of gzip, zstd, uncompressed`)
  }
  const explicitOci = fields.has('oci-mediatypes')
  // Docker media types have no zstd layer type, so zstd implies OCI types unless the user said otherwise.
  const ociMediaTypes = parseBool(spec, fields, 'oci-mediatypes', ociDefault || c === 'zstd')
  if (explicitOci && !ociMediaTypes && c === 'zstd') throw usage(spec, 'compression=zstd needs oci-mediatypes=true (Docker media types have no zstd layer)')
  parseBool(spec, fields, 'rewrite-timestamp', false) // only checked: layer times follow SOURCE_DATE_EPOCH either way
  const out: ImageOutputOptions = {
    compression: c,
    forceCompression: parseBool(spec, fields, 'force-compression', false),
    ociMediaTypes,
    names: (fields.get('name') ?? '').split(',').map((n) => n.trim()).filter((n) => n !== ''),
    annotations,
  }
  const level = fields.get('compression-level')
  if (level !== undefined) {
    const range = c === 'zstd' ? [1, 22] : c === 'gzip' ? [0, 9] : [0, 0]
    const n = Number(level)
    if (!/^-?\d+$/.test(level) || n < range[0]! || n > range[1]!) {
      throw usage(spec, `compression-level=${level} is not an integer in ${range[0]}..${range[1]} for compression=${c}`)
    }
    out.compressionLevel = n
  }
  return out
}

function pushOptions (spec: string, fields: Map<string, string>): ImagePushOptions {
  return { pushByDigest: parseBool(spec, fields, 'push-by-digest', false), nameCanonical: parseBool(spec, fields, 'name-canonical', false) }
}

function parseBool (spec: string, fields: Map<string, string>, key: string, dflt: boolean): boolean {
  const v = fields.get(key)
  if (v === undefined) return dflt
  if (v === '' || v === 'true' || v === '1') return true
  if (v === 'false' || v === '0') return false
  throw usage(spec, `${key}=${v} is not a boolean (true or false)`)
}

/**
 * The same spec with its destination replaced (`-` becomes
 * `type=tar,dest=FILE`), so the CLI can send a `dest=-` output through a file.
 */
export function withOutputDest (spec: string, dest: string): string {
  const text = spec.trim()
  if (text === '-') return `type=tar,${quoteField(`dest=${dest}`)}`
  if (!text.includes('=')) return `type=local,${quoteField(`dest=${dest}`)}`
  const parts = splitFields(text)
  const isDest = (part: string): boolean => part.slice(0, part.indexOf('=')).trim().toLowerCase() === 'dest'
  // An archive output given without dest= (stdout, as in buildx) gets one.
  if (!parts.some(isDest)) parts.push(`dest=${dest}`)
  return parts.map((part) => quoteField(isDest(part) ? `dest=${dest}` : part)).join(',')
}

function quoteField (part: string): string {
  return part.includes(',') ? `"${part}"` : part
}

/** Split on commas, honouring double quotes (`"name=a,b"` as in buildx's CSV form). */
function splitFields (text: string): string[] {
  const out: string[] = []
  let cur = ''
  let quoted = false
  for (const ch of text) {
    if (ch === '"') { quoted = !quoted; continue }
    if (ch === ',' && !quoted) { out.push(cur); cur = ''; continue }
    cur += ch
  }
  if (quoted) throw new TsbuildError('USAGE', `invalid output ${JSON.stringify(text)}: unterminated quote`)
  out.push(cur)
  return out.filter((p) => p.trim() !== '')
}

function usage (spec: string, why: string): TsbuildError {
  return new TsbuildError('USAGE', `invalid output ${JSON.stringify(spec)}: ${why}`)
}
