/**
 * Conversion state: one ConvertContext per target platform, one StageState
 * per dispatched stage. Plain data passed to the per-instruction functions.
 */
import { posix } from 'node:path'
import type { SourceRange } from '../../../common/errors.js'
import type { ImageConfig } from '../../../common/oci.js'
import { formatPlatform, parsePlatform, type Platform } from '../../../common/platform.js'
import type { NetworkMode, OpMetadata, ProxyEnv, State } from '../../../llb/index.js'
import type { Instruction } from '../instructions/index.js'
import type { EnvGetter, ShellLex } from '../shell/index.js'
import type { StageGraph, StageNode } from './graph.js'
import type { BuildRunSettings, ConvertWarning, NamedContext, ResolvedImage } from './types.js'

export interface ConvertContext {
  readonly file: string
  readonly lex: ShellLex
  /** Keeps quotes and unset variables: for display names only. */
  readonly displayLex: ShellLex
  readonly targetPlatform: Platform
  readonly buildPlatform: Platform
  readonly isMultiPlatform: boolean
  /** Platform args + meta ARGs (+ --build-arg overrides). */
  readonly globalEnv: ReadonlyMap<string, string>
  readonly buildArgs: ReadonlyMap<string, string>
  readonly proxyEnv?: ProxyEnv
  /** History `created` (from SOURCE_DATE_EPOCH). */
  readonly created?: string
  readonly buildContext: State
  /**
   * Build-context paths the reachable stages read (COPY/ADD sources, bind
   * mounts), for every target platform: the context source sends only these
   * (see {@link contextFollowPaths}).
   */
  readonly contextPaths: Set<string>
  readonly graph: StageGraph
  readonly namedContexts: ReadonlyMap<string, NamedContext>
  readonly noCache: ReadonlySet<string>
  /** Cached across platforms and stages. */
  resolveImage (ref: string, platform: Platform): Promise<ResolvedImage>
  /** Build-arg keys some ARG declared (for the unused build-arg warning). */
  readonly declaredArgs: Set<string>
  /** Secret / ssh ids the reachable stages mount, and whether any mount requires them. */
  readonly secrets: Map<string, boolean>
  readonly ssh: Map<string, boolean>
  readonly warnings: ConvertWarning[]
  readonly stages: Map<StageNode, Promise<StageState>>
  /** `--network` for the whole build: RUNs without their own `--network` use it. */
  readonly network: NetworkMode
  /** `--add-host`, `--shm-size`, `--ulimit`: every RUN gets them. */
  readonly run: BuildRunSettings
  /** Global ARGs whose values differ between the requested target platforms (TARGETARCH, …). */
  readonly targetDependentArgs: ReadonlySet<string>
  /** Stages an earlier target platform converted without depending on it, by {@link sharedStageKey}. */
  readonly sharedStages: Map<string, StageState>
  /** The target and the stages it is built FROM, directly or not: the ones whose image config is the result's. */
  readonly imageStages: ReadonlySet<StageNode>
  /** Images and named contexts used by --from / from= that are not stages. */
  readonly externals: Map<string, Promise<State>>
}

export interface StageState {
  readonly node: StageNode
  state: State
  image: ImageConfig
  platform: Platform
  /** ARGs declared in the stage (and its base stages), for RUN's history line. */
  buildArgs: Array<{ key: string; value?: string }>
  cmdIndex: number
  cmdTotal: number
  isIgnoreCache: boolean
  /** CMD was set in this Dockerfile (ENTRYPOINT then keeps it). */
  isCmdSet: boolean
  /**
   * This stage's image config ends up in the result: it is the target or a
   * stage the target is built FROM (directly or not). Only such stages write
   * history lines; in a big multi-stage Dockerfile the others' would be
   * thrown away.
   */
  recordsImage: boolean
  /**
   * Something in this stage (or a stage it reads) depends on the target
   * platform: it runs on it, reads an image for it, or imports an ARG whose
   * value differs between the target platforms. A stage without this is
   * converted once and shared by every target platform.
   */
  dependsOnTarget: boolean
  /** The instruction being dispatched came from an ONBUILD trigger. */
  isOnbuild: boolean
  /** ONBUILD instructions of this stage, replayed by stages built FROM it. */
  onbuild: Instruction[]
}

/**
 * BuildKit's follow paths for the build context: the paths read, relative
 * and sorted. Empty (send everything) when the root itself is read (`COPY . .`,
 * a bind mount of the whole context) or a path cannot be written as a plain
 * pattern (a leading `!` or blank).
 */
export function contextFollowPaths (paths: ReadonlySet<string>): string[] {
  const out: string[] = []
  for (const p of paths) {
    const rel = posix.join('/', p).slice(1).replace(/\/+$/, '')
    if (rel === '' || rel.startsWith('!') || rel.trim() !== rel) return []
    out.push(rel)
  }
  return [...new Set(out)].sort()
}

/** Characters that make a COPY source (and so a follow path) a glob. */
export const GLOB_CHARS = /[*?[\\]/g

/** A plain path (a bind-mount source) as a follow path that matches only itself. */
export function escapeGlobChars (p: string): string {
  return p.replace(GLOB_CHARS, (c) => `\\${c}`)
}

/** The stage's environment as word expansion sees it (image env, ENV, ARG values). */
export function stageEnv (st: StageState): EnvGetter {
  return st.state
}

/** BuildKit's progress name: `[linux/arm64 build 2/5] RUN make`. */
export function prefixCommand (ctx: ConvertContext, st: StageState, text: string): string {
  if (st.cmdTotal === 0) return text
  let out = '['
  if (ctx.isMultiPlatform) out += formatPlatform(st.platform) + crossSuffix(st) + ' '
  if (ctx.graph.nodes.length > 1) out += st.node.displayName + ' '
  st.cmdIndex++
  const width = Math.floor(1 + Math.log10(st.cmdTotal))
  out += `${String(st.cmdIndex).padStart(width, ' ')}/${st.cmdTotal}] `
  if (st.isOnbuild) out += 'ONBUILD '
  return out + text
}

/** `->arm64` when a build-platform stage declared TARGETPLATFORM for another arch (cross compilation). */
function crossSuffix (st: StageState): string {
  const env = st.state
  const text = env.getEnv('TARGETPLATFORM')
  let p: Platform
  if (text !== undefined && text !== '') {
    try { p = parsePlatform(text) } catch { return '' }
  } else {
    const os = env.getEnv('TARGETOS')
    const arch = env.getEnv('TARGETARCH')
    const variant = env.getEnv('TARGETVARIANT')
    if (os === undefined && arch === undefined && variant === undefined) return ''
    p = { os: os || st.platform.os, architecture: arch || st.platform.architecture, ...(variant ? { variant } : {}) }
  }
  if (p.os === st.platform.os && p.architecture !== st.platform.architecture) return `->${p.architecture}${p.variant !== undefined ? `/${p.variant}` : ''}`
  if (p.os !== st.platform.os) return `->${formatPlatform(p)}`
  return ''
}

/** Metadata every vertex of an instruction carries. */
export function instructionMetadata (ctx: ConvertContext, st: StageState, opts: { name: string; original: string; range: SourceRange }): OpMetadata {
  const md: { -readonly [K in keyof OpMetadata]: OpMetadata[K] } = {
    customName: prefixCommand(ctx, st, opts.name),
    description: { 'com.docker.dockerfile.v1.command': opts.original },
    locations: [{ file: ctx.file, ranges: [opts.range] }],
  }
  if (st.isIgnoreCache) md.ignoreCache = true
  return md
}

/** BuildKit's display form of an instruction: variables expanded where set, keyword upper-cased. */
export function displayCommand (ctx: ConvertContext, st: StageState, original: string): string {
  let text = original.trim()
  try {
    text = ctx.displayLex.processWord(text, stageEnv(st))
  } catch { /* shown as written */ }
  const sp = text.indexOf(' ')
  return sp < 0 ? text.toUpperCase() : text.slice(0, sp).toUpperCase() + text.slice(sp)
}
