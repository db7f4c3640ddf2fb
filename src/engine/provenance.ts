import { createHash, randomBytes } from 'node:crypto'
import type { Digest } from '../common/digest.js'
import { redactUrl } from '../common/gitRef.js'
import { formatPlatform, hostPlatform, normalizePlatform, type Platform } from '../common/platform.js'
import { digestSet, inTotoStatement, provenancePredicate, refToPurl, type AttestationSource, type BuildFacts, type Material, type ProvenanceOptions } from '../exporter/index.js'
import type { Definition, Op } from '../llb/index.js'
import type { BuildRequest } from './request.js'

/**
 * Gathers what a build's provenance records and makes its statements. Git
 * commits and download digests are known only once the solver resolves them:
 * `onKey` takes them from each vertex's cache key facts.
 */
export class ProvenanceRecorder {
  private readonly facts: BuildFacts
  private readonly resolved = new Map<Digest, Material>()

  constructor (
    private readonly opts: ProvenanceOptions,
    private readonly platforms: ReadonlyArray<{ platform: Platform; definition: Definition }>,
    req: BuildRequest,
    build: { env: NodeJS.ProcessEnv; dockerfileText: string; startedOn: Date },
  ) {
    const ops = platforms.flatMap((p) => [...p.definition.ops.values()])
    this.facts = {
      // BuildKit's identity.NewID: 25 characters of [0-9a-z].
      invocationId: BigInt(`0x${randomBytes(16).toString('hex')}`).toString(36).padStart(25, '0').slice(-25),
      startedOn: build.startedOn,
      args: frontendArgs(req, build.env),
      entryPoint: req.dockerfile.displayName,
      locals: ['context', 'dockerfile', ...[...req.buildContexts].filter(([, c]) => c.kind === 'local').map(([name]) => name)],
      secrets: uniqueIds(ops.flatMap((op) => (op.kind === 'exec' ? [...op.mounts.flatMap((m) => (m.type === 'secret' ? [{ id: m.secretId, optional: m.optional }] : [])), ...op.meta.secretEnv.map((s) => ({ id: s.id, optional: s.optional }))] : []))),
      ssh: uniqueIds(ops.flatMap((op) => (op.kind === 'exec' ? op.mounts.flatMap((m) => (m.type === 'ssh' ? [{ id: m.sshId, optional: m.optional }] : [])) : []))),
      builderPlatform: hostPlatform(),
      isNetworkUsed: ops.some((op) => (op.kind === 'exec' && op.network !== 'none') || (op.kind === 'source' && (op.attrs.type === 'git' || op.attrs.type === 'http'))),
      dockerfile: { filename: req.dockerfile.displayName, data: build.dockerfileText },
    }
  }

  /** Scheduler hook: a git or http source's key facts name what it resolved to. */
  onKey (digest: Digest, op: Op | undefined, explain: Record<string, string> | undefined): void {
    if (op?.kind !== 'source' || explain === undefined) return
    if (op.attrs.type === 'git' && explain.commit !== undefined) {
      const uri = explain.remote ?? op.attrs.remote
      this.resolved.set(digest, { uri: op.attrs.ref !== undefined ? `${uri}#${op.attrs.ref}` : uri, digest: { sha1: explain.commit } })
    } else if (op.attrs.type === 'http' && explain.content !== undefined) {
      // A URL may carry credentials (ADD https://user:token@host/…): the record keeps them masked.
      this.resolved.set(digest, { uri: redactUrl(op.attrs.url), digest: digestSet(explain.content) })
    }
  }

  /** The statements' maker for the exporters; each call dates the build's end. */
  source (): AttestationSource {
    return {
      isInlineOnly: this.opts.inlineOnly,
      statements: (platform, subjects) => {
        const { predicateType, predicate } = provenancePredicate(this.facts, this.materials(platform), this.opts, new Date())
        return [inTotoStatement(predicateType, predicate, subjects)]
      },
    }
  }

  /** What one platform's image was built from: its base images, then git and http sources. */
  private materials (platform: Platform): Material[] {
    const key = formatPlatform(normalizePlatform(platform))
    const def = this.platforms.find((p) => formatPlatform(normalizePlatform(p.platform)) === key)?.definition
    if (def === undefined) return []
    const images: Material[] = []
    const others: Material[] = []
    const seen = new Set<string>()
    for (const [digest, op] of def.ops) {
      let m: Material | undefined
      if (op.kind === 'source' && op.attrs.type === 'image') m = imageMaterial(op.attrs.ref, op.platform)
      else if (op.kind === 'source') m = this.resolved.get(digest)
      if (m === undefined || seen.has(m.uri)) continue
      seen.add(m.uri)
      ;(op.kind === 'source' && op.attrs.type === 'image' ? images : others).push(m)
    }
    return [...images, ...others]
  }
}

/** A base image pinned by the frontend (`name:tag@digest`): the tag names it, the digest is its checksum. */
function imageMaterial (ref: string, platform: Platform | undefined): Material | undefined {
  const at = ref.indexOf('@')
  if (at < 0) return undefined
  const name = ref.slice(0, at)
  const hasTag = name.lastIndexOf(':') > name.lastIndexOf('/')
  return { uri: refToPurl(hasTag ? name : ref, platform), digest: digestSet(ref.slice(at + 1)) }
}

/** The frontend options buildx would send for this request, keyed as BuildKit records them. */
function frontendArgs (req: BuildRequest, env: NodeJS.ProcessEnv): Record<string, string> {
  const args: Record<string, string> = {}
  for (const [k, v] of req.buildArgs) args[`build-arg:${k}`] = v
  // buildx passes SOURCE_DATE_EPOCH from its environment as a build arg.
  if (!req.buildArgs.has('SOURCE_DATE_EPOCH') && env.SOURCE_DATE_EPOCH !== undefined && env.SOURCE_DATE_EPOCH !== '') args['build-arg:SOURCE_DATE_EPOCH'] = env.SOURCE_DATE_EPOCH
  for (const [k, v] of req.labels) args[`label:${k}`] = v
  if (req.target !== undefined) args.target = req.target
  if (req.noCache) args['no-cache'] = ''
  else if (req.noCacheFilter.length > 0) args['no-cache'] = req.noCacheFilter.join(',')
  if (req.network !== 'default') args['force-network-mode'] = req.network
  if (req.extraHosts !== undefined && req.extraHosts.length > 0) args['add-hosts'] = req.extraHosts.map((h) => `${h.host}=${h.ip}`).join(',')
  for (const [name, c] of req.buildContexts) {
    // An OCI layout is named by a store id, as buildx names it, not by its path on this host.
    args[`context:${name}`] = c.kind === 'local' ? `local:${name}` : c.kind === 'image' ? `docker-image://${c.ref}` : `oci-layout://${layoutStoreId(c.path)}${c.ref !== undefined ? `:${c.ref}` : ''}${c.digest !== undefined ? `@${c.digest}` : ''}`
  }
  return args
}

/** A stable id for a local OCI layout that does not show where it is. */
function layoutStoreId (path: string): string {
  return createHash('sha256').update(path).digest('hex').slice(0, 25)
}

function uniqueIds (list: Array<{ id: string; optional: boolean }>): Array<{ id: string; optional: boolean }> {
  const byId = new Map<string, { id: string; optional: boolean }>()
  // One required use makes the id required.
  for (const s of list) byId.set(s.id, { id: s.id, optional: (byId.get(s.id)?.optional ?? true) && s.optional })
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}
