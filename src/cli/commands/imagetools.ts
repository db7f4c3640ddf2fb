import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { isDigest, type Digest } from '../../common/digest.js'
import { TsbuildError } from '../../common/errors.js'
import { INDEX_MEDIA_TYPES, type Descriptor, type ImageManifest } from '../../common/oci.js'
import { normalizePlatform } from '../../common/platform.js'
import {
  RegistryClient, combineIndex, dockerConfigCredentials, formatReference, parseIndexAnnotation, parseReference,
  type ImageReference, type IndexSource,
} from '../../registry/index.js'
import { getBool, getList, getString, parseArgs, type FlagSpec } from '../flags/parseArgs.js'
import type { CommandIo } from '../io.js'
import { inspectImage, readConfig } from '../imagetoolsInspect.js'

const USAGE = `Usage: tsbuild imagetools COMMAND

Commands to work on images in a registry:
  create [OPTIONS] SOURCE...   Join images into one multi-platform index and push it
  inspect [OPTIONS] NAME       Show an image's index or manifest as the registry serves it

create options:
  -t, --tag NAME             Name of the new image (repeatable; needed unless --dry-run)
      --append               Add the sources to the manifests the first --tag already has
      --annotation A         index:KEY=VALUE or manifest-descriptor[PLATFORM]:KEY=VALUE (repeatable)
  -f, --file FILE            Read a source (a descriptor as JSON, or a reference) from a file (repeatable)
      --dry-run              Print the index instead of pushing it
      --prefer-index=false   With one manifest source, copy it as it is instead of wrapping it in an index
      --insecure-registry H  Reach this registry over plain http (repeatable)

inspect options:
      --raw                  Print the manifest or index exactly as served
      --format FORMAT        json, or a buildx template: {{json .}}, {{json .Manifest}}, {{.Manifest}},
                             {{json .Provenance}}, {{json .SBOM}}

A SOURCE is an image reference (REPO:TAG or REPO@DIGEST), or a bare digest in the one repository the tags and sources name.
`

const CREATE_FLAGS: readonly FlagSpec[] = [
  { long: 'tag', short: 't', kind: 'list' },
  { long: 'append', kind: 'bool' },
  { long: 'annotation', kind: 'list' },
  { long: 'file', short: 'f', kind: 'list' },
  { long: 'dry-run', kind: 'bool' },
  { long: 'prefer-index', kind: 'bool' },
  { long: 'progress', kind: 'string' },
  { long: 'builder', kind: 'string' },
  { long: 'insecure-registry', kind: 'list' },
  { long: 'help', short: 'h', kind: 'bool' },
]

const INSPECT_FLAGS: readonly FlagSpec[] = [
  { long: 'raw', kind: 'bool' },
  { long: 'format', kind: 'string' },
  { long: 'builder', kind: 'string' },
  { long: 'insecure-registry', kind: 'list' },
  { long: 'help', short: 'h', kind: 'bool' },
]

/**
 * `tsbuild imagetools create|inspect`, as `docker buildx imagetools`: the
 * last job of a CI workflow that pushed each platform by digest joins them
 * under one tag.
 */
export async function run (args: string[], io: CommandIo): Promise<number> {
  const [sub, ...rest] = args
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    io.stdout.write(USAGE)
    return sub === undefined ? 2 : 0
  }
  if (sub === 'create') return await create(rest, io)
  if (sub === 'inspect') {
    const p = parseArgs(rest, INSPECT_FLAGS, 'imagetools inspect')
    if (getBool(p, 'help')) { io.stdout.write(USAGE); return 0 }
    if (p.positionals.length !== 1) throw new TsbuildError('USAGE', `imagetools inspect takes one image name, got ${p.positionals.length}`, { hint: 'tsbuild imagetools inspect [--raw] [--format json] NAME' })
    const raw = getBool(p, 'raw')
    const format = getString(p, 'format')
    if (raw && format !== undefined) throw new TsbuildError('USAGE', '--raw and --format cannot be used together')
    await inspectImage(clientFor(io, getList(p, 'insecure-registry')), parseReference(p.positionals[0]!), { raw, ...(format !== undefined ? { format } : {}) }, io)
    return 0
  }
  throw new TsbuildError('USAGE', `unknown imagetools command ${JSON.stringify(sub)}: create or inspect`, { hint: 'see tsbuild imagetools --help' })
}

function clientFor (io: CommandIo, insecure: string[]): RegistryClient {
  return new RegistryClient({ auth: dockerConfigCredentials({ env: io.env }), insecureRegistries: insecure })
}

/** A source before it is resolved: a reference, a descriptor (from a file or a bare digest), or both. */
interface SourceSpec { text: string; ref?: ImageReference; desc?: Partial<Descriptor> & { digest: Digest } }

const repoOf = (r: ImageReference): string => `${r.registry}/${r.repository}`

async function create (args: string[], io: CommandIo): Promise<number> {
  const p = parseArgs(args, CREATE_FLAGS, 'imagetools create')
  if (getBool(p, 'help')) { io.stdout.write(USAGE); return 0 }
  const dryRun = getBool(p, 'dry-run')
  const tagArgs = getList(p, 'tag')
  const files = getList(p, 'file')
  if (p.positionals.length === 0 && files.length === 0) throw new TsbuildError('USAGE', 'imagetools create: no sources specified', { hint: 'tsbuild imagetools create -t NAME SOURCE...' })
  if (!dryRun && tagArgs.length === 0) throw new TsbuildError('USAGE', 'imagetools create: cannot push with no tags specified, please set --tag or --dry-run')
  const annotations = getList(p, 'annotation').map(parseIndexAnnotation)
  const tags = tagArgs.map(parseReference)

  const texts: string[] = []
  for (const f of files) {
    const path = resolve(io.cwd, f)
    texts.push((await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new TsbuildError('NOT_FOUND', `imagetools create: cannot read source file ${path}: ${err.code ?? err.message}`, { cause: err })
    })).trim())
  }
  texts.push(...p.positionals)
  if (getBool(p, 'append')) texts.unshift(tagArgs[0]!)
  const specs = texts.map(parseSource)

  const repos = new Set([...tags.map(repoOf), ...specs.flatMap((s) => (s.ref !== undefined ? [repoOf(s.ref)] : []))])
  if (repos.size === 0) throw new TsbuildError('USAGE', 'imagetools create: no repositories specified, please set a reference in --tag or a source')
  for (const s of specs) {
    if (s.ref !== undefined) continue
    if (repos.size > 1) throw new TsbuildError('USAGE', `imagetools create: several repositories are named, cannot tell which one holds ${JSON.stringify(s.text)}`, { hint: 'write the source as REPO@DIGEST' })
    const { registry, repository } = parseReference([...repos][0]!)
    s.ref = { registry, repository, digest: s.desc!.digest }
  }

  const client = clientFor(io, getList(p, 'insecure-registry'))
  const signal = io.signal !== undefined ? { signal: io.signal } : {}
  const sources = await Promise.all(specs.map(async (s) => await resolveSource(client, s, signal)))
  const preferIndex = p.values.has('prefer-index') ? getBool(p, 'prefer-index') : true
  const combined = combineIndex(sources, { annotations, preferIndex })
  if (dryRun) {
    io.stdout.write(`${combined.bytes.toString('utf8')}\n`)
    return 0
  }
  for (const tag of tags) {
    for (const src of sources) {
      if (repoOf(src.ref) === repoOf(tag)) continue
      io.stderr.write(`copying ${src.descriptor.digest} from ${formatReference(src.ref)} to ${formatReference(tag)}\n`)
      const { manifests, blobs } = await client.copyImage(src.ref, src.descriptor, tag, signal)
      io.stderr.write(`copied ${manifests} manifest${manifests === 1 ? '' : 's'}: ${blobs.mounted} blobs mounted, ${blobs.uploaded} uploaded, ${blobs.exists} already there\n`)
    }
    io.stderr.write(`pushing ${combined.descriptor.digest} to ${formatReference(tag)}\n`)
    await client.pushManifest(tag, combined.bytes, combined.descriptor.mediaType, signal)
  }
  return 0
}

/** buildx's three kinds of source: a digest, a reference, or a descriptor as JSON. */
function parseSource (text: string): SourceSpec {
  const t = text.trim()
  if (t.startsWith('sha256:')) {
    if (!isDigest(t)) throw new TsbuildError('USAGE', `invalid source ${JSON.stringify(text)}: not a sha256 digest`)
    return { text, desc: { digest: t } }
  }
  if (!t.startsWith('{')) return { text, ref: parseReference(t) }
  let desc: Partial<Descriptor>
  try {
    desc = JSON.parse(t) as Partial<Descriptor>
  } catch (err) {
    throw new TsbuildError('USAGE', `invalid source descriptor ${JSON.stringify(t.slice(0, 80))}: not valid JSON`, { cause: err })
  }
  if (typeof desc.digest !== 'string' || !isDigest(desc.digest)) throw new TsbuildError('USAGE', `invalid source descriptor ${JSON.stringify(t.slice(0, 80))}: it needs a sha256 "digest"`)
  return { text, desc: desc as SourceSpec['desc'] & object }
}

/**
 * Fetch a source's document. A descriptor given with it may set the media
 * type, annotations or platform (buildx's override), but not another size.
 * A single manifest's platform comes from its config when not given.
 */
async function resolveSource (client: RegistryClient, s: SourceSpec, opts: { signal?: AbortSignal }): Promise<IndexSource> {
  const ref = s.ref!
  const fetched = await client.fetchManifest(ref, { ...opts, ...(s.desc !== undefined ? { reference: s.desc.digest } : {}) })
  const given = s.desc
  if (given?.size !== undefined && given.size !== 0 && given.size !== fetched.descriptor.size) {
    throw new TsbuildError('DIGEST_MISMATCH', `source ${s.text}: its descriptor says ${given.size} bytes, the registry has ${fetched.descriptor.size}`)
  }
  const descriptor: Descriptor = {
    ...fetched.descriptor,
    ...(given?.mediaType !== undefined && given.mediaType !== '' ? { mediaType: given.mediaType } : {}),
    ...(given?.annotations !== undefined && Object.keys(given.annotations).length > 0 ? { annotations: given.annotations } : {}),
    ...(given?.platform !== undefined ? { platform: given.platform } : {}),
  }
  const named: ImageReference = { ...ref, digest: fetched.descriptor.digest }
  if (!INDEX_MEDIA_TYPES.includes(descriptor.mediaType) && (descriptor.platform?.os === undefined || descriptor.platform.architecture === undefined)) {
    const config = await readConfig(client, named, fetched.parsed as ImageManifest, opts)
    if (config.os === undefined || config.architecture === undefined) throw new TsbuildError('UNSUPPORTED_MEDIA_TYPE', `source ${s.text}: its config names no os/architecture, so it has no platform in an index`)
    descriptor.platform = normalizePlatform({ os: config.os, architecture: config.architecture, ...(config.variant !== undefined ? { variant: config.variant } : {}) })
  }
  return { ref: named, descriptor, bytes: fetched.bytes }
}
