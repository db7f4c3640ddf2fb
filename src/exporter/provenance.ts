import type { Digest } from '../common/digest.js'
import { formatPlatform, normalizePlatform, type Platform } from '../common/platform.js'

/** `--provenance` / `--attest type=provenance,…`, parsed (buildx's keys). */
export interface ProvenanceOptions {
  /** min leaves out build-arg and label values, secrets and ssh ids, and the Dockerfile source. */
  mode: 'min' | 'max'
  version: 'v0.2' | 'v1'
  builderId?: string
  /** Only on image outputs (image, registry): oci, local and tar outputs leave it out, as BuildKit does. */
  inlineOnly: boolean
  reproducible: boolean
}

export const IN_TOTO_STATEMENT_V01 = 'https://in-toto.io/Statement/v0.1'
export const SLSA_PROVENANCE_V02 = 'https://slsa.dev/provenance/v0.2'
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1'
const BUILD_TYPE_V02 = 'https://mobyproject.org/buildkit@v1'
const BUILD_TYPE_V1 = 'https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md'

export interface InTotoSubject { name: string; digest: Record<string, string> }

export interface InTotoStatement {
  _type: string
  predicateType: string
  subject: InTotoSubject[]
  predicate: unknown
}

/** Something the build read from outside: a base image (as a purl), a git commit, a download. */
export interface Material { uri: string; digest: Record<string, string> }

/**
 * What one build invocation tells its provenance, gathered by the engine. Values
 * are as the build saw them; the mode decides what the predicate keeps.
 */
export interface BuildFacts {
  invocationId: string
  startedOn: Date
  /** Frontend options as BuildKit keys them: `build-arg:NAME`, `label:NAME`, `target`, … */
  args: Record<string, string>
  /** The Dockerfile's name (BuildKit's `filename`). */
  entryPoint: string
  /** A build from a git or URL context: where it came from and, for git, the commit. */
  configSource?: Material
  /** Local sources the client provided (`context`, `dockerfile`, named contexts). */
  locals: string[]
  secrets: Array<{ id: string; optional: boolean }>
  ssh: Array<{ id: string; optional: boolean }>
  builderPlatform: Platform
  /** Whether any step could reach the network (a RUN without --network=none, a download). */
  isNetworkUsed: boolean
  /** The Dockerfile text, kept in mode=max as BuildKit's `source.infos`. */
  dockerfile?: { filename: string; data: string }
}

/**
 * The provenance predicate of one platform image, as BuildKit writes it for
 * the Dockerfile frontend. `buildConfig` (the LLB definition) and the
 * `layers` map that refers to its steps are not written.
 */
export function provenancePredicate (facts: BuildFacts, materials: readonly Material[], opts: ProvenanceOptions, finishedOn: Date): { predicateType: string; predicate: unknown } {
  let isParametersComplete = true
  const args: Record<string, string> = {}
  for (const [k, v] of Object.entries(facts.args).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (opts.mode === 'min' && (k.startsWith('build-arg:') || k.startsWith('label:'))) { isParametersComplete = false; continue }
    args[k] = v
  }
  const parameters = {
    frontend: 'dockerfile.v0',
    ...(Object.keys(args).length > 0 ? { args } : {}),
    ...(opts.mode === 'max' && facts.secrets.length > 0 ? { secrets: facts.secrets.map((s) => ({ id: s.id, ...(s.optional ? { optional: true } : {}) })) } : {}),
    ...(opts.mode === 'max' && facts.ssh.length > 0 ? { ssh: facts.ssh.map((s) => ({ id: s.id, ...(s.optional ? { optional: true } : {}) })) } : {}),
    ...(facts.locals.length > 0 ? { locals: facts.locals.map((name) => ({ name })) } : {}),
  }
  // A local directory is not a tracked source: the materials cannot be complete.
  const isMaterialsComplete = facts.locals.length === 0
  const isHermetic = isMaterialsComplete && !facts.isNetworkUsed
  const buildkitMetadata = opts.mode === 'max' && facts.dockerfile !== undefined
    ? { source: { infos: [{ filename: facts.dockerfile.filename, language: 'Dockerfile', data: Buffer.from(facts.dockerfile.data).toString('base64') }] } }
    : {}
  const started = rfc3339(facts.startedOn)
  const finished = rfc3339(finishedOn)
  const builderPlatform = formatPlatform(normalizePlatform(facts.builderPlatform))
  const builder = { id: opts.builderId ?? '' }
  if (opts.version === 'v1') {
    return {
      predicateType: SLSA_PROVENANCE_V1,
      predicate: {
        buildDefinition: {
          buildType: BUILD_TYPE_V1,
          ...(materials.length > 0 ? { resolvedDependencies: materials.map((m) => ({ uri: m.uri, digest: m.digest })) } : {}),
          externalParameters: {
            configSource: { ...(facts.configSource !== undefined ? { uri: facts.configSource.uri, ...(Object.keys(facts.configSource.digest).length > 0 ? { digest: facts.configSource.digest } : {}) } : {}), path: facts.entryPoint },
            request: parameters,
          },
          internalParameters: { builderPlatform },
        },
        runDetails: {
          builder,
          metadata: {
            invocationID: facts.invocationId,
            startedOn: started,
            finishedOn: finished,
            buildkit_metadata: buildkitMetadata,
            ...(isHermetic ? { buildkit_hermetic: true } : {}),
            buildkit_completeness: { request: isParametersComplete, resolvedDependencies: isMaterialsComplete },
            ...(opts.reproducible ? { buildkit_reproducible: true } : {}),
          },
        },
      },
    }
  }
  return {
    predicateType: SLSA_PROVENANCE_V02,
    predicate: {
      builder,
      buildType: BUILD_TYPE_V02,
      ...(materials.length > 0 ? { materials: materials.map((m) => ({ uri: m.uri, digest: m.digest })) } : {}),
      invocation: {
        configSource: { ...(facts.configSource !== undefined ? { uri: facts.configSource.uri, ...(Object.keys(facts.configSource.digest).length > 0 ? { digest: facts.configSource.digest } : {}) } : {}), entryPoint: facts.entryPoint },
        parameters,
        environment: { platform: builderPlatform },
      },
      metadata: {
        buildInvocationID: facts.invocationId,
        buildStartedOn: started,
        buildFinishedOn: finished,
        completeness: { parameters: isParametersComplete, environment: true, materials: isMaterialsComplete },
        reproducible: opts.reproducible,
        'https://mobyproject.org/buildkit@v1#metadata': buildkitMetadata,
        ...(isHermetic ? { 'https://mobyproject.org/buildkit@v1#hermetic': true } : {}),
      },
    },
  }
}

export function inTotoStatement (predicateType: string, predicate: unknown, subject: InTotoSubject[]): InTotoStatement {
  return { _type: IN_TOTO_STATEMENT_V01, predicateType, subject, predicate }
}

/** `{ sha256: hex }`, the in-toto digest set of one digest. */
export function digestSet (digest: Digest | string): Record<string, string> {
  const colon = digest.indexOf(':')
  return { [digest.slice(0, colon)]: digest.slice(colon + 1) }
}

/**
 * An image reference as a package URL, as BuildKit writes subjects and
 * materials: Docker Hub names in their familiar form (`alpine`,
 * `user/app`), other registries with their host; the tag is the version
 * (`latest` when there is none), a digest and the platform are qualifiers.
 */
export function refToPurl (ref: string, platform?: Platform): string {
  let rest = ref
  let digest: string | undefined
  const at = rest.indexOf('@')
  if (at >= 0) { digest = rest.slice(at + 1); rest = rest.slice(0, at) }
  const slash = rest.lastIndexOf('/')
  const colon = rest.lastIndexOf(':')
  let tag: string | undefined
  if (colon > slash) { tag = rest.slice(colon + 1); rest = rest.slice(0, colon) }
  if (tag === undefined && digest === undefined) tag = 'latest'
  const name = familiarName(rest)
  const qualifiers: Array<[string, string]> = []
  if (digest !== undefined) qualifiers.push(['digest', digest])
  if (platform !== undefined) qualifiers.push(['platform', formatPlatform(normalizePlatform(platform))])
  const escape = (s: string): string => encodeURIComponent(s).replaceAll('%3A', ':')
  const path = name.split('/').map(escape).join('/')
  const query = qualifiers.length > 0 ? `?${qualifiers.map(([k, v]) => `${k}=${escape(v)}`).join('&')}` : ''
  return `pkg:docker/${path}${tag !== undefined ? `@${escape(tag)}` : ''}${query}`
}

function familiarName (name: string): string {
  const first = name.split('/')[0]!
  const hasDomain = name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')
  if (!hasDomain) return name.startsWith('library/') ? name.slice('library/'.length) : name
  if (first !== 'docker.io' && first !== 'index.docker.io' && first !== 'registry-1.docker.io') return name
  const path = name.slice(first.length + 1)
  return path.startsWith('library/') && path.split('/').length === 2 ? path.slice('library/'.length) : path
}

/** RFC 3339 in UTC without fractions, as Go's time marshals a whole-second time. */
function rfc3339 (d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z')
}
