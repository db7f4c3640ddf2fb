import { statfs } from 'node:fs/promises'
import { sha256, type Digest } from '../common/digest.js'
import { TsbuildError, findTsbuildError, type ErrorCode, type TsbuildErrorOptions } from '../common/errors.js'
import type { GitSourceAttrs, HttpSourceAttrs, SourceLocation } from '../llb/index.js'
import { GitSource } from '../solver/ops/source/git.js'
import { HttpSource } from '../solver/ops/source/http.js'
import { formatPlatform } from '../common/platform.js'
import { shortenForDisplay } from '../common/shorten.js'
import type { ImageConfig } from '../common/oci.js'
import { violatedRules, type CheckReport } from '../frontend/dockerfile/checks/index.js'
import { mergeDefinitions } from '../llb/index.js'
import { createExportPool } from '../exporter/index.js'
import type { EventSink } from '../solver/events.js'
import { Scheduler } from '../solver/scheduler/index.js'
import { buildSolverGraph, makeRunnerFactory } from '../solver/worker.js'
import { exportResults, outputSpecs, type ExportedImage, type PlatformImage } from './export.js'
import { imageProvider, mountProviders } from './providers.js'
import { RemoteCache } from './remoteCache.js'
import type { BuildRequest } from './request.js'
import { frontend } from './frontend.js'
import { convertWarningEvent, findingEvent } from './checks.js'
import { checkEntitlements } from './entitlements.js'
import type { ConvertResult } from '../frontend/dockerfile/convert/index.js'
import { collectToCap, formatSize, treeSize } from '../cache/gc/index.js'
import { LeaseManager, type Lease } from '../cache/leases/index.js'
import { keyLocks } from '../cache/records/index.js'
import { CacheMountManager } from '../solver/mounts/index.js'
import { Explainer, type StepExplanation } from '../solver/explain/index.js'
import { snapshotName } from '../cache/snapshots/index.js'
import type { Services } from './services.js'
import { ProvenanceRecorder } from './provenance.js'

// Kept here too for callers of the whole engine; --print/--call load ./frontend.js alone.
export { frontend } from './frontend.js'

export interface BuildOptions {
  stateDir: string
  /** The client's environment: secrets, ssh sockets and registry credentials come from here. */
  env: NodeJS.ProcessEnv
  onEvent: EventSink
  signal?: AbortSignal
}

export interface BuildResult {
  converted: ConvertResult
  /** Dockerfile check findings; the CLI prints them after the build. */
  checks: CheckReport
  exported?: ExportedImage
  steps: { total: number; cached: number }
  durationMs: number
  /** Per step: cache hit, or why it ran, compared with the last build of this Dockerfile and target. */
  explain: { previousBuild?: string; steps: StepExplanation[] }
}

/**
 * One build: Dockerfile → LLB (one Definition per platform) → solve (shared
 * vertices once, cached by content) → export. Cancelling the signal stops
 * running containers and returns after everything is released.
 */
export async function build (req: BuildRequest, opts: BuildOptions): Promise<BuildResult> {
  const started = Date.now()
  // TSBUILD_TRACE=1 prints where a build spends its time (ms since the process started).
  const trace = opts.env.TSBUILD_TRACE !== undefined ? (what: string) => process.stderr.write(`[trace] ${performance.now().toFixed(0)}ms ${what}\n`) : () => {}
  trace('frontend')
  const { converted, checks, services, images, sourceDateEpoch, text } = await frontend(req, opts)
  trace('converted')
  // In the event stream as BuildKit's SolveStatus carries them (rawjson shows them; the CLI's views print a summary instead).
  for (const f of checks.findings) opts.onEvent(findingEvent(f, Date.now()))
  if (checks.isError && checks.findings.length > 0) {
    throw new TsbuildError('CHECK_FAILED', `lint violation found for rules: ${violatedRules(checks.findings)}`)
  }
  checkEntitlements(converted.platforms.map((p) => p.definition), req.allow, req.dockerfile.displayName)
  // A push without a name, or an annotation for something no output writes, fails now, not after every step ran.
  const specs = outputSpecs(req.outputs, req.tags, req.push, req.annotations, converted.platforms.length, req.provenance)
  await services.executor.checkInstalled().catch((err: unknown) => {
    // Only a build that runs something needs runc; say so up front when one will.
    if (converted.platforms.some((p) => [...p.definition.ops.values()].some((op) => op.kind === 'exec'))) throw err
  })
  // A build killed earlier (kill -9) leaves containers and mounts behind; live builds' are kept.
  await services.executor.sweepStale()
  // NoEmptyContinuation is a check finding, printed with the others after the build.
  for (const w of converted.warnings) if (w.rule !== 'NoEmptyContinuation') opts.onEvent(convertWarningEvent(w, req.dockerfile.displayName, Date.now()))

  const merged = mergeDefinitions(converted.platforms.map((p) => p.definition))
  const provenance = req.provenance === undefined ? undefined : new ProvenanceRecorder(req.provenance, converted.platforms, req, { env: opts.env, dockerfileText: text, startedOn: new Date(started) })
  const localDirs = new Map<string, string>([['context', req.contextDir]])
  for (const [name, c] of req.buildContexts) if (c.kind === 'local') localDirs.set(name, c.path)
  const mounts = mountProviders(req, services.state.root, opts.env)
  const makeRunner = makeRunnerFactory({
    stateDir: services.state.root, snapshotter: services.snapshotter, executor: services.executor, content: services.content,
    records: services.records, layerIndex: services.layerIndex, images: imageProvider(images), localDirs,
    // Cache mounts travel with --cache-from/--cache-to (mounts=true); runners call this only once the solve starts.
    mounts: { ...mounts.providers, cache: async (o, signal) => await remoteCache.wrapCacheMounts(mounts.providers).cache(o, signal) },
    sourceRunners: {
      http: (op) => new HttpSource(op.attrs as HttpSourceAttrs, { snapshotter: services.snapshotter, stateDir: services.state.root }),
      git: (op) => new GitSource(op.attrs as GitSourceAttrs, { snapshotter: services.snapshotter, stateDir: services.state.root, env: opts.env }),
    },
  })
  const graph = buildSolverGraph(merged, makeRunner, { ignoreCache: () => req.noCache })
  const explainer = await Explainer.open(services.state.root, {
    dockerfile: dockerfileIdentity(req, text),
    ...(req.target !== undefined ? { target: req.target } : {}),
    platforms: converted.platforms.map((p) => formatPlatform(p.platform)),
  }, { buildArgs: new Set([...req.buildArgs.keys(), ...converted.outline.args.map((a) => a.name)]), ops: merged.ops, isNoCacheFilter: !req.noCache && req.noCacheFilter.length > 0, hasImportedCache: req.cacheFrom.length > 0 })
  services.progressTo((e) => onEvent(e))
  let total = 0
  let cached = 0
  let stored = 0 // steps that ran and stored a new result (local context loads store nothing)
  // What the build adds to the store, for the collection after it: each new result's top snapshot
  // (every layer of a base image it pulled), and whether it grew what it does not measure: cache
  // mounts a step wrote, layers an imported cache brought.
  const newSnapshots = new Set<string>()
  let addsUnmeasured = req.cacheFrom.length > 0
  const noteGrowth = (digest: Digest, layers: readonly string[] | undefined): void => {
    const op = merged.ops.get(digest)
    if (op?.kind === 'exec' && op.mounts.some((m) => m.type === 'cache')) addsUnmeasured = true
    const isImage = op?.kind === 'source' && op.attrs.type === 'image'
    for (const l of isImage ? layers ?? [] : (layers ?? []).slice(-1)) newSnapshots.add(l)
  }
  let failed: Digest | undefined
  const onEvent: typeof opts.onEvent = (e) => {
    if (e.type === 'vertex' && e.status === 'completed' && graph.vertices.get(e.digest)?.op.noCache !== true) stored++
    if (e.type === 'vertex' && e.status === 'cached') explainer.markCached(e.digest)
    if (e.type === 'vertex' && e.status === 'error') failed ??= e.digest
    if (e.type === 'vertex' && e.status === 'cached') cached++
    if (e.type === 'vertex' && (e.status === 'cached' || e.status === 'completed')) total++
    opts.onEvent(e)
  }
  const remoteCache = await RemoteCache.open({
    services, cacheFrom: req.cacheFrom, cacheTo: req.cacheTo, platforms: converted.platforms.map((p) => p.platform), emit: onEvent, contextDir: req.contextDir,
    baseRefs: [...merged.ops.values()].flatMap((op) => (op.kind === 'source' && op.attrs.type === 'image' ? [op.attrs.ref] : [])),
    signal: opts.signal ?? new AbortController().signal, ...(sourceDateEpoch !== undefined ? { sourceDateEpoch } : {}),
  })
  // The lease keeps what this build uses out of reach of collections running meanwhile (ours included);
  // each solved result's snapshots are named in it, so the steps reading them are safe too.
  let lease: Lease | undefined
  const remoteOptions = remoteCache.schedulerOptions()
  const scheduler = new Scheduler({
    records: services.records, emit: onEvent, ...remoteOptions, exclusive: keyLocks(services.state.locksDir),
    isSkippedSolved: remoteOptions.onSolved !== undefined,
    onSolved: (v, solved) => {
      explainer.markCompleted(v.digest)
      if (!solved.cached) noteGrowth(v.digest, solved.result.layers)
      remoteOptions.onSolved?.(v, solved)
      if (solved.result.layers !== undefined && solved.result.layers.length > 0) lease?.add({ snapshots: solved.result.layers }).catch(() => undefined)
    },
    onKey: (v, k) => { explainer.onKey(v, k); provenance?.onKey(v.digest, merged.ops.get(v.digest), k.explain) }, explainMiss: (v, c) => explainer.missReason(v, c),
    ...(req.maxParallelism !== undefined ? { maxParallelism: req.maxParallelism } : {}), ...(opts.signal !== undefined ? { signal: opts.signal } : {}) })
  lease = await new LeaseManager(services.state.root).acquire()
  try {
    trace('gc before')
    await collectForBuild(services.state.root, opts, { skipWhenFarUnderCap: true })
    trace('solve')
    const heads = graph.heads.filter((h) => h !== null)
    remoteCache.setHeads(heads)
    const solved = await scheduler.solve(heads)
    const byDigest = new Map(heads.map((h, i) => [h.digest, solved[i]!]))
    const platformImages: PlatformImage[] = converted.platforms.map((p, i) => {
      const head = graph.heads[i]
      const layers = head === null || head === undefined ? [] : byDigest.get(head.digest)!.result.layers ?? []
      const inlineCache = remoteCache.inlineFor(head)
      return { platform: p.platform, config: p.image as ImageConfig, layers, ...(inlineCache !== undefined ? { inlineCache } : {}) }
    })
    let exported: ExportedImage | undefined
    if (req.tags.length > 0 || req.outputs.length > 0 || req.push) {
      trace('export')
      const pool = await createExportPool()
      try {
        exported = await exportResults(platformImages, {
          services, pool, fetchBlob: remoteCache.fetchBlob, isImportedBlob: remoteCache.isImportedBlob, blobSource: remoteCache.blobSource, layerMemo: remoteCache.layerMemo, specs, emit: onEvent, signal: scheduler.signal,
          baseRefs: [...merged.ops.values()].flatMap((op) => (op.kind === 'source' && op.attrs.type === 'image' ? [op.attrs.ref] : [])),
          ...(sourceDateEpoch !== undefined ? { sourceDateEpoch } : {}),
          ...(provenance !== undefined ? { attestations: provenance.source() } : {}),
        })
      } finally {
        await pool.destroy()
      }
    }
    trace('cache export finish')
    await remoteCache.finish()
    const explain = { ...(explainer.previousBuildTime !== undefined ? { previousBuild: explainer.previousBuildTime } : {}), steps: explainer.explanations() }
    return { converted, checks, ...(exported !== undefined ? { exported } : {}), steps: { total, cached }, durationMs: Date.now() - started, explain }
  } catch (err) {
    if (failed === undefined) throw err
    const md = merged.metadata.get(failed)
    const t = findTsbuildError(err)
    // A RUN that fills the disk fails with its own message (`I/O error`,
    // `No space left on device`): say so when the state dir's device is full.
    const hint = t?.hint ?? await fullDeviceHint(services.state.root)
    throw new StepError(t?.code ?? 'EXEC_FAILED', `${shortenForDisplay(graph.vertices.get(failed)?.name ?? 'a build step')}: ${t?.message ?? String(err)}`, {
      cause: err, locations: md?.locations ?? [], dockerfile: text, ...(hint !== undefined ? { hint } : {}),
    })
  } finally {
    await remoteCache.close()
    await mounts.close()
    await lease?.release()
    await explainer.save().catch(() => undefined) // explanations are advisory; never fail a build over them
    trace('gc after')
    // What this build added bounds how far it moved the cache towards its cap; far under it, the store is not walked.
    if (opts.signal?.aborted !== true) {
      const addedBytes = addsUnmeasured ? undefined : 2 * (await Promise.all([...newSnapshots].map(async (n) => await snapshotBytes(services, n)))).reduce((a, b) => a + b, 0)
      await collectForBuild(services.state.root, opts, { skipWhenFarUnderCap: addedBytes !== undefined, ...(addedBytes !== undefined ? { addedBytes } : {}) })
    }
    trace('done')
  }
}

/** Bytes of one snapshot's own layer (0 when it is gone or unreadable: the figure is an estimate). */
async function snapshotBytes (services: Services, name: string): Promise<number> {
  const info = await services.snapshotter.stat(snapshotName(name)).catch(() => undefined)
  return info === undefined ? 0 : await treeSize(info.diffPath)
}

/** Bring the build cache back under its cap; a failed collection never fails the build. */
async function collectForBuild (root: string, opts: BuildOptions, how: { skipWhenFarUnderCap?: boolean; addedBytes?: number } = {}): Promise<void> {
  try {
    const report = await collectToCap(root, opts.env, { cacheMounts: new CacheMountManager(root), ...how })
    if (report === undefined) return
    const name = `garbage collection: ${report.records.length} cache records removed, ${formatSize(report.reclaimedBytes)} reclaimed`
    opts.onEvent({ type: 'progress', id: 'gc', name, current: 1, total: 1, done: true, time: Date.now() })
  } catch (err) {
    opts.onEvent({ type: 'warning', message: `garbage collection failed: ${err instanceof Error ? err.message : String(err)}`, time: Date.now() })
  }
}

/** A failed step, with the Dockerfile lines it came from (the CLI prints them). */
/** Under this much free space, a failed step may well have failed for want of it. */
const LOW_SPACE_BYTES = 64 * 1024 * 1024

async function fullDeviceHint (stateDir: string): Promise<string | undefined> {
  try {
    const s = await statfs(stateDir)
    if (s.bavail * s.bsize >= LOW_SPACE_BYTES) return undefined
    return `the device holding the state dir ${stateDir} is (nearly) full: ${Math.floor(s.bavail * s.bsize / 1024)} KiB left; free space or move TSBUILD_ROOT`
  } catch {
    return undefined
  }
}

export class StepError extends TsbuildError {
  readonly locations: readonly SourceLocation[]
  readonly dockerfile: string
  constructor (code: ErrorCode, message: string, opts: TsbuildErrorOptions & { locations: readonly SourceLocation[]; dockerfile: string }) {
    super(code, message, opts)
    this.name = 'StepError'
    this.locations = opts.locations
    this.dockerfile = opts.dockerfile
  }
}

/**
 * What makes a build's Dockerfile the same as an earlier build's, for the
 * cache-miss reasons: its path. A git or URL context is unpacked into a new
 * temp dir each time, so there it is the address and `-f`; a Dockerfile from
 * stdin (or inside a context from stdin) has no lasting path, so its text.
 */
function dockerfileIdentity (req: BuildRequest, text: string): string {
  const context = req.contextOrigin ?? req.contextDir
  if (req.dockerfile.path === undefined || req.contextFromStdin === true) return `${context}/<stdin ${sha256(text)}>`
  return req.contextOrigin !== undefined ? `${req.contextOrigin} -f ${req.dockerfile.displayName}` : req.dockerfile.path
}
