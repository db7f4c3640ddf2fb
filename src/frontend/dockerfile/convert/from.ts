/**
 * FROM: a stage's starting point — another stage, a named context, scratch
 * or a registry image (resolved for its platform) — plus the base image's
 * ONBUILD triggers, and the non-stage sources `--from` / `from=` can name.
 */
import { TsbuildError } from '../../../common/errors.js'
import type { ImageConfig } from '../../../common/oci.js'
import type { Platform } from '../../../common/platform.js'
import * as llb from '../../../llb/index.js'
import { parse } from '../parser/index.js'
import { parseInstruction, type Instruction } from '../instructions/index.js'
import { suggest } from '../instructions/suggest.js'
import { prefixCommand, type ConvertContext, type StageState } from './context.js'
import { dockerfileError, locate, locateAsync } from './errors.js'
import type { StageNode } from './graph.js'
import { cloneImage, DEFAULT_PATH, emptyImage } from './image.js'
import { namedContextFor, namedContextState } from './namedContext.js'

const countsAsStep = (i: Instruction): boolean => i.kind === 'run' || i.kind === 'copy' || i.kind === 'add' || i.kind === 'workdir'

/** The state a stage starts from, with the base image's config applied and its ONBUILD triggers parsed. */
export async function initStage (ctx: ConvertContext, node: StageNode, base: StageState | undefined): Promise<{ st: StageState; triggers: Instruction[] }> {
  const platform = node.platform ?? base?.platform ?? ctx.targetPlatform
  const st: StageState = {
    node,
    state: llb.scratch(),
    image: emptyImage(platform),
    platform,
    buildArgs: [],
    cmdIndex: 0,
    cmdTotal: 0,
    isIgnoreCache: node.stage.name !== undefined && ctx.noCache.has(node.stage.name),
    isCmdSet: false,
    recordsImage: ctx.imageStages.has(node),
    dependsOnTarget: base !== undefined ? base.dependsOnTarget : node.platform === undefined,
    isOnbuild: false,
    onbuild: [],
  }
  const steps = node.stage.commands.filter(countsAsStep).length
  let triggers: Instruction[] = []
  const from = node.stage.from
  if (base !== undefined) {
    st.state = base.state
    st.image = cloneImage(base.image)
    st.image.config!.OnBuild = null
    st.buildArgs = base.buildArgs.slice()
    triggers = base.onbuild
    st.cmdTotal = steps + triggers.length
    return { st, triggers }
  }
  const nc = namedContextFor(ctx.namedContexts, node.baseName)
  if (nc !== undefined) {
    const loaded = await locateAsync(ctx.file, from.range, () => namedContextState(ctx, node.baseName, nc, platform))
    st.state = loaded.state.platform(platform)
    if (loaded.image !== undefined) {
      st.image = cloneImage(loaded.image)
      // An image context brings its ONBUILD triggers, as the same image from a registry does.
      triggers = parseTriggers(ctx, node, loaded.image)
    }
  } else if (node.baseName.toLowerCase() !== 'scratch') {
    const resolved = await locateAsync(ctx.file, from.range, async () => {
      try {
        return await ctx.resolveImage(node.baseName, platform)
      } catch (err) {
        const s = err instanceof TsbuildError && err.code === 'NOT_FOUND' ? suggest(node.baseName, ctx.graph.nodes.map(n => n.displayName)) : undefined
        if (s === undefined) throw err
        throw new TsbuildError(err instanceof TsbuildError ? err.code : 'NOT_FOUND', `${node.baseName}: ${(err as Error).message} (did you mean ${s}?)`, { cause: err })
      }
    })
    st.image = cloneImage(resolved.config)
    triggers = parseTriggers(ctx, node, resolved.config)
    st.cmdTotal = 1 + steps + triggers.length
    const ref = withDigest(resolved.ref, resolved.digest)
    if (!isScratchImage(resolved.config)) {
      st.state = llb.image(ref, {
        platform,
        customName: prefixCommand(ctx, st, `FROM ${ref}`),
        description: { 'com.docker.dockerfile.v1.command': from.original.trim() },
        locations: [{ file: ctx.file, ranges: [from.range] }],
      })
    }
  }
  if (st.cmdTotal === 0) st.cmdTotal = steps + triggers.length
  st.state = st.state.platform(platform)
  if (ctx.network !== 'default') st.state = st.state.network(ctx.network)
  st.image.config!.OnBuild = null
  applyImageConfig(st)
  return { st, triggers }
}

/**
 * A stage whose name a --build-context gives is that context and nothing
 * else, as in BuildKit: its FROM is not resolved and none of its
 * instructions run. An image context brings its config, platform and
 * ONBUILD triggers (replayed by stages built FROM it); a directory is
 * like scratch.
 */
export async function initReplacedStage (ctx: ConvertContext, node: StageNode): Promise<StageState> {
  const nc = node.namedContext
  if (nc === undefined) throw new Error(`stage ${node.displayName} has no named context`)
  const requested = node.platform ?? ctx.targetPlatform
  const loaded = await locateAsync(ctx.file, node.stage.from.range, () => namedContextState(ctx, node.stage.name!, nc, requested))
  const img = loaded.image
  const platform = img !== undefined && img.os !== '' && img.architecture !== ''
    ? { os: img.os, architecture: img.architecture, ...(img.variant !== undefined && img.variant !== '' ? { variant: img.variant } : {}) }
    : requested
  const st: StageState = {
    node,
    state: loaded.state.platform(platform),
    image: img !== undefined ? cloneImage(img) : emptyImage(platform),
    platform,
    buildArgs: [],
    cmdIndex: 0,
    cmdTotal: 0,
    isIgnoreCache: false,
    isCmdSet: false,
    recordsImage: ctx.imageStages.has(node),
    dependsOnTarget: node.platform === undefined,
    isOnbuild: false,
    onbuild: img !== undefined ? parseTriggers(ctx, node, img) : [],
  }
  if (ctx.network !== 'default') st.state = st.state.network(ctx.network)
  applyImageConfig(st)
  return st
}

/** Env, working dir and user of the base image become the state's settings; PATH is always set. */
function applyImageConfig (st: StageState): void {
  const config = st.image.config!
  const env = config.Env ?? []
  if (st.platform.os !== 'windows' && !env.some(e => e.startsWith('PATH='))) config.Env = [...env, `PATH=${DEFAULT_PATH}`]
  for (const e of config.Env ?? []) {
    const eq = e.indexOf('=')
    st.state = eq < 0 ? st.state.addEnv(e, '') : st.state.addEnv(e.slice(0, eq), e.slice(eq + 1))
  }
  if (config.WorkingDir !== undefined && config.WorkingDir !== '') st.state = st.state.dir(config.WorkingDir)
  if (config.User !== undefined && config.User !== '') st.state = st.state.user(config.User)
}

function isScratchImage (config: ImageConfig): boolean {
  return config.rootfs.diff_ids.length === 0 && (config.history ?? []).every(h => h.empty_layer === true)
}

function withDigest (ref: string, digest: string): string {
  return ref.includes('@') ? ref : `${ref}@${digest}`
}

/** The base image's config.OnBuild entries as instructions, located at the FROM line. */
function parseTriggers (ctx: ConvertContext, node: StageNode, config: ImageConfig): Instruction[] {
  const range = node.stage.from.range
  return (config.config?.OnBuild ?? []).map(text => locate(ctx.file, range, () => {
    const ast = parse(text, { file: ctx.file })
    if (ast.nodes.length !== 1) throw new TsbuildError('INVALID_INSTRUCTION', `onbuild trigger should be a single expression: ${JSON.stringify(text)}`)
    const instr = parseInstruction({ ...ast.nodes[0]!, range }, { file: ctx.file })
    if (instr.kind === 'from' || instr.kind === 'onbuild' || instr.kind === 'maintainer') {
      throw new TsbuildError('INVALID_INSTRUCTION', `${instr.kind.toUpperCase()} isn't allowed as an ONBUILD trigger`)
    }
    return instr
  }))
}

/** What `--from=name` / `from=name` reads when `name` is not a stage: a named context or an image. */
export function externalSource (ctx: ConvertContext, name: string, platform: Platform, range: StageNode['stage']['from']['range']): Promise<llb.State> {
  const key = `${name}\0${platform.os}/${platform.architecture}/${platform.variant ?? ''}`
  let p = ctx.externals.get(key)
  if (p === undefined) {
    p = locateAsync(ctx.file, range, async () => {
      const nc = namedContextFor(ctx.namedContexts, name)
      if (nc !== undefined) return (await namedContextState(ctx, name, nc, platform)).state
      let resolved
      try {
        resolved = await ctx.resolveImage(name, platform)
      } catch (err) {
        const names = ctx.graph.nodes.map(n => n.displayName)
        const s = suggest(name, names)
        if (s === undefined) throw err
        throw dockerfileError('UNKNOWN_STAGE', ctx.file, range, `${JSON.stringify(name)} is neither a stage nor an image that could be resolved (did you mean ${s}?)`, { cause: err })
      }
      const ref = withDigest(resolved.ref, resolved.digest)
      return llb.image(ref, { platform, customName: `FROM ${ref}` })
    })
    ctx.externals.set(key, p)
  }
  return p
}
