import { basename } from 'node:path'
import { HistoryStore, type RequestSummary, type StepRecord } from '../../cache/history/index.js'
import { describeContextArg, type ContextArg } from '../../common/contextArg.js'
import { formatPlatform, type Platform } from '../../common/platform.js'
import { INDEX_MEDIA_TYPES, type Descriptor } from '../../common/oci.js'
import type { BuildRequest } from '../../engine/request.js'
import { HistoryRecorder } from './recorder.js'

/** What a build exported, as the metadata file needs it (the engine's ExportedImage fits). */
export interface ExportedSummary {
  descriptor?: Descriptor
  manifests: ReadonlyArray<{ platform: Platform; digest: string; config: string }>
  pushed: readonly string[]
  stored: readonly string[]
  /** Names given to oci and docker archives (absent: none). */
  archived?: readonly string[]
  outputs: readonly string[]
}

/** A request whose context may have come from a URL (a git repository or a download); see CliBuildRequest. */
export type ReportedRequest = BuildRequest & { remoteContext?: ContextArg }

/** The request as the history keeps it: secret and ssh ids, never their values or sources. */
export function summarizeRequest (req: ReportedRequest): RequestSummary {
  return {
    // Stdin and remote contexts were written to a temp dir that is gone after the build:
    // `-` or the URL (credentials masked) says where the context came from.
    context: req.remoteContext !== undefined ? describeContextArg(req.remoteContext) : req.contextFromStdin === true ? '-' : req.contextDir,
    dockerfile: req.dockerfile.displayName,
    ...(req.target !== undefined ? { target: req.target } : {}),
    platforms: req.platforms.map(formatPlatform),
    tags: [...req.tags],
    outputs: [...req.outputs],
    push: req.push,
    noCache: req.noCache,
    buildArgs: Object.fromEntries(req.buildArgs),
    secretIds: req.secrets.map((s) => s.id),
    sshIds: req.ssh.map((s) => s.id),
    ...(req.labels.size > 0 ? { labels: Object.fromEntries(req.labels) } : {}),
    ...(req.noCacheFilter.length > 0 ? { noCacheFilter: [...req.noCacheFilter] } : {}),
    ...(req.network !== 'default' ? { network: req.network } : {}),
    ...(req.extraHosts !== undefined && req.extraHosts.length > 0 ? { addHosts: req.extraHosts.map((h) => `${h.host}:${h.ip}`) } : {}),
    ...(req.shmSize !== undefined && req.shmSize > 0 ? { shmSize: req.shmSize } : {}),
    ...(req.ulimits !== undefined && req.ulimits.length > 0 ? { ulimits: req.ulimits.map((u) => `${u.name}=${u.soft}:${u.hard}`) } : {}),
  }
}

/** Start recording a build in `<stateDir>/history`; undefined when the history cannot be written. */
export async function startHistory (req: ReportedRequest, stateDir: string): Promise<HistoryRecorder | undefined> {
  const context = req.remoteContext !== undefined ? remoteContextName(req.remoteContext) : req.contextFromStdin === true ? 'stdin' : basename(req.contextDir) || req.contextDir
  const name = req.tags[0] ?? `${context}${req.target !== undefined ? `:${req.target}` : ''}`
  try {
    return await HistoryRecorder.start(new HistoryStore(stateDir), { name, request: summarizeRequest(req) })
  } catch {
    return undefined // e.g. a read-only state dir: the build itself may still work
  }
}

/** A short name for a build from a URL: the repository's name, or the downloaded file's. */
function remoteContextName (c: ContextArg): string {
  if (c.kind === 'git') return c.git.shortName || 'git'
  if (c.kind === 'url') {
    try { return basename(new URL(c.url).pathname) || new URL(c.url).hostname } catch { return 'url' }
  }
  return describeContextArg(c)
}

/**
 * The `--metadata-file` document: buildx's keys where they exist
 * (`containerimage.digest`, `containerimage.descriptor`,
 * `containerimage.config.digest` (a single-platform image only, as BuildKit),
 * `image.name`, `buildx.build.ref`), plus per-platform digests and each step's cache
 * outcome. `buildx.build.ref` is the build id in `tsbuild history`.
 */
export function buildMetadata (opts: { exported?: ExportedSummary; buildRef?: string; durationMs: number; steps: readonly StepRecord[]; explain?: { previousBuild?: string; steps: ReadonlyArray<{ name: string; status: string; reason?: string; changes: readonly unknown[] }> } }): Record<string, unknown> {
  // The full miss explanation of each step that ran (old and new values), by step name.
  const explained = new Map((opts.explain?.steps ?? []).filter((s) => s.status === 'ran').map((s) => [s.name, s]))
  const ex = opts.exported
  const names = ex === undefined ? [] : exportedNames(ex)
  const vertices = opts.steps.filter((s) => s.digest !== undefined)
  return {
    ...(ex !== undefined && imageConfigDigest(ex) !== undefined ? { 'containerimage.config.digest': imageConfigDigest(ex) } : {}),
    ...(ex?.descriptor !== undefined ? { 'containerimage.digest': ex.descriptor.digest, 'containerimage.descriptor': ex.descriptor } : {}),
    ...(names.length > 0 ? { 'image.name': names.join(',') } : {}),
    ...(ex !== undefined && ex.outputs.length > 0 ? { outputs: [...ex.outputs] } : {}),
    ...(opts.buildRef !== undefined ? { 'buildx.build.ref': opts.buildRef } : {}),
    manifests: ex?.manifests.map((m) => ({ platform: formatPlatform(m.platform), digest: m.digest, config: m.config })) ?? [],
    durationMs: opts.durationMs,
    ...(opts.explain?.previousBuild !== undefined ? { comparedWith: opts.explain.previousBuild } : {}),
    cache: { steps: vertices.length, cached: vertices.filter((s) => s.cached).length },
    steps: vertices.map((s) => ({
      step: s.number,
      digest: s.digest,
      name: s.name,
      cache: s.cached ? 'hit' : 'miss',
      ...(s.missReason !== undefined && !s.cached ? { missReason: s.missReason } : {}),
      ...(!s.cached && explained.get(s.name)?.changes.length ? { missDetails: explained.get(s.name)!.changes } : {}),
      status: s.status,
      ...(s.durationMs !== undefined && !s.cached ? { durationMs: s.durationMs } : {}),
    })),
  }
}

/** Every name the build gave its image: stored, pushed and written into archives, each once. */
export function exportedNames (ex: ExportedSummary): string[] {
  return [...new Set([...ex.stored, ...ex.pushed, ...(ex.archived ?? [])])]
}

/**
 * The config digest of an image whose root is one manifest (docker's image
 * ID). An index has none, even with one platform (attestations make one),
 * as BuildKit reports it.
 */
export function imageConfigDigest (ex: ExportedSummary): string | undefined {
  if (ex.manifests.length !== 1 || (ex.descriptor !== undefined && INDEX_MEDIA_TYPES.includes(ex.descriptor.mediaType))) return undefined
  return ex.manifests[0]!.config
}
