/**
 * Dockerfile → one LLB Definition per target platform, plus the image
 * config to export, warnings and the outline. Stages built for the build
 * platform (`FROM --platform=$BUILDPLATFORM`) produce the same ops in every
 * platform's Definition, so the solver runs them once.
 */
import { TsbuildError } from '../../../common/errors.js'
import type { ImageConfig } from '../../../common/oci.js'
import { normalizePlatform, type Platform } from '../../../common/platform.js'
import * as llb from '../../../llb/index.js'
import { parseDockerfile } from '../instructions/index.js'
import { ShellLex } from '../shell/index.js'
import { buildMetaArgs, isBuiltinArg, platformArgs, proxyEnvFromBuildArgs } from './args.js'
import { contextFollowPaths, type ConvertContext, type StageState } from './context.js'
import { dispatchStage } from './dispatch.js'
import { buildStageGraph, reachableFrom, type StageNode } from './graph.js'
import { cloneImage, epochToTime } from './image.js'
import { buildOutline } from './outline.js'
import type { ConvertRequest, ConvertResult, ConvertWarning, PlatformResult, ResolvedImage } from './types.js'

function sourceDateEpoch (req: ConvertRequest): number | undefined {
  if (req.sourceDateEpoch !== undefined) return req.sourceDateEpoch
  const text = req.buildArgs.get('SOURCE_DATE_EPOCH')
  if (text === undefined || text === '') return undefined
  if (!/^\d+$/.test(text)) throw new TsbuildError('USAGE', `invalid SOURCE_DATE_EPOCH ${JSON.stringify(text)}: expected seconds since the epoch`)
  return Number(text)
}

export async function convertDockerfile (req: ConvertRequest): Promise<ConvertResult> {
  if (req.targetPlatforms.length === 0) throw new TsbuildError('USAGE', 'convertDockerfile needs at least one target platform')
  const file = req.file
  const dockerfile = parseDockerfile(req.dockerfile, { file })
  const lex = new ShellLex({ escapeToken: dockerfile.escapeToken })
  const displayLex = lex.with({ rawQuotes: true, skipUnsetEnv: true })
  const buildPlatform = normalizePlatform(req.buildPlatform)
  const epoch = sourceDateEpoch(req)
  const created = epoch !== undefined ? epochToTime(epoch) : undefined
  const proxyEnv = proxyEnvFromBuildArgs(req.buildArgs)
  const contextPaths = new Set<string>()
  // The paths are known once every platform is converted; marshalling waits for that.
  const buildContext = llb.local('context', { excludePatterns: req.dockerignorePatterns, followPaths: () => contextFollowPaths(contextPaths), customName: '[internal] load build context' })
  const resolved = new Map<string, Promise<ResolvedImage>>()
  const resolveImage = (ref: string, platform: Platform): Promise<ResolvedImage> => {
    const key = `${ref}\0${platform.os}/${platform.architecture}/${platform.variant ?? ''}`
    let p = resolved.get(key)
    if (p === undefined) {
      p = req.imageResolver.resolveImageConfig(ref, { platform })
      resolved.set(key, p)
    }
    return p
  }
  const warnings: ConvertWarning[] = dockerfile.warnings.map(w => ({ message: w.message, range: w.range, rule: w.rule }))
  const declaredArgs = new Set<string>()
  for (const m of dockerfile.metaArgs) for (const a of m.args) declaredArgs.add(a.key)
  const secrets = new Map<string, boolean>()
  const ssh = new Map<string, boolean>()
  const converted: Array<{ platform: Platform; state: llb.State; image: ImageConfig }> = []
  let outlineInput: { nodes: StageNode[]; target: StageNode; reachable: Set<StageNode> } | undefined
  const isMultiPlatform = req.targetPlatforms.length > 1
  const targets = req.targetPlatforms.map(p => {
    const targetPlatform = normalizePlatform(p)
    return { targetPlatform, globalEnv: buildMetaArgs({ base: platformArgs(targetPlatform, buildPlatform), metaArgs: dockerfile.metaArgs, buildArgs: req.buildArgs, lex, file }).env }
  })
  const targetDependentArgs = new Set<string>()
  for (const { globalEnv } of targets.slice(1)) {
    for (const [k, v] of globalEnv) if (targets[0]!.globalEnv.get(k) !== v) targetDependentArgs.add(k)
  }
  const sharedStages = new Map<string, StageState>()
  for (const { targetPlatform, globalEnv } of targets) {
    const graph = buildStageGraph({ stages: dockerfile.stages, globalEnv, lex, file, ...(req.target !== undefined ? { target: req.target } : {}), namedContexts: req.namedContexts })
    const reachable = reachableFrom(graph.target)
    outlineInput ??= { nodes: graph.nodes, target: graph.target, reachable }
    // Start every base image lookup at once; dispatch awaits them in order.
    for (const n of reachable) {
      if (n.base === undefined && n.namedContext === undefined && n.baseName.toLowerCase() !== 'scratch' && !req.namedContexts.has(n.baseName)) {
        resolveImage(n.baseName, n.platform ?? targetPlatform).catch(() => { /* reported when dispatched */ })
      }
    }
    const imageStages = new Set<StageNode>()
    for (let n: StageNode | undefined = graph.target; n !== undefined && !imageStages.has(n); n = n.base) imageStages.add(n)
    const ctx: ConvertContext = {
      file, lex, displayLex, targetPlatform, buildPlatform, isMultiPlatform, globalEnv,
      buildArgs: req.buildArgs,
      ...(proxyEnv !== undefined ? { proxyEnv } : {}),
      ...(created !== undefined ? { created } : {}),
      buildContext, contextPaths, graph,
      namedContexts: req.namedContexts,
      noCache: new Set(req.noCacheFilter.map(s => s.toLowerCase())),
      resolveImage, declaredArgs, secrets, ssh, warnings,
      stages: new Map(), imageStages, targetDependentArgs, sharedStages, externals: new Map(),
      network: req.network ?? 'default',
      run: { extraHosts: req.extraHosts ?? [], shmSize: req.shmSize ?? 0, ulimits: req.ulimits ?? [] },
    }
    const st = await dispatchStage(ctx, graph.target)
    const image = cloneImage(st.image)
    image.os = targetPlatform.os
    image.architecture = targetPlatform.architecture
    if (targetPlatform.variant !== undefined) image.variant = targetPlatform.variant
    else delete image.variant
    image.rootfs = { type: 'layers', diff_ids: [] }
    if (req.labels.size > 0) image.config!.Labels = { ...image.config!.Labels, ...Object.fromEntries(req.labels) }
    if (created !== undefined) image.created = created
    converted.push({ platform: targetPlatform, state: st.state, image })
  }
  const platforms: PlatformResult[] = converted.map(({ platform, state, image }) => ({ platform, definition: asLayers(state, platform).marshal({ platform }), image }))
  const unused = [...req.buildArgs.keys()].filter(k => !declaredArgs.has(k) && !isBuiltinArg(k)).sort()
  if (unused.length > 0) warnings.push({ message: `[Warning] One or more build-args [${unused.join(' ')}] were not consumed`, rule: 'UnusedBuildArgs' })
  const outline = buildOutline({ dockerfile, ...outlineInput!, secrets, ssh })
  return { platforms, warnings, outline }
}

/**
 * The solver's result for a directory source is the directory, not layers.
 * A target that is nothing but a directory context (a stage a named context
 * replaces, or `FROM ctx` with no instructions) is copied into one layer so
 * the image and the outputs have its files.
 */
function asLayers (state: llb.State, platform: Platform): llb.State {
  const out = state.output()
  if (out === null || out.vertex.inputs.length > 0) return state
  const op = out.vertex.toOp([], { platform })
  if (op.kind !== 'source' || op.attrs.type !== 'local') return state
  const copied = llb.scratch().platform(platform).file(
    llb.copy(state, '/', '/', { dirCopyContents: true, createDestPath: true, followSymlink: true }),
    { customName: `[internal] copy context ${op.attrs.name} into a layer` },
  )
  return state.withOutput(copied.output())
}
