/**
 * Running the Dockerfile checks for a build request: the context's ignore
 * file and the base images' configs come from the same sources the build uses.
 */
import type { Platform } from '../common/platform.js'
import { checkDockerfile, type CheckReport, type ImageMetaResolver, type ResolvedImage } from '../frontend/dockerfile/index.js'
import { formatFinding, RULES, type CheckFinding } from '../frontend/dockerfile/checks/index.js'
import type { ConvertWarning } from '../frontend/dockerfile/convert/index.js'
import { PatternMatcher } from '../solver/context/index.js'
import type { WarningEvent } from '../solver/events.js'

/** One lookup per image and platform, shared by the checks and the conversion. */
export function memoizeResolver (resolver: ImageMetaResolver): ImageMetaResolver {
  const seen = new Map<string, Promise<ResolvedImage>>()
  return {
    resolveImageConfig (ref, opts) {
      const p = opts.platform
      const key = `${ref}\0${p.os}/${p.architecture}/${p.variant ?? ''}`
      let r = seen.get(key)
      if (r === undefined) { r = resolver.resolveImageConfig(ref, opts); seen.set(key, r) }
      return r
    },
  }
}

export async function runChecks (opts: {
  text: string
  file: string
  buildArgs: ReadonlyMap<string, string>
  targetPlatform: Platform
  buildPlatform: Platform
  /** undefined when the context has no ignore file. */
  ignorePatterns?: readonly string[]
  resolver: ImageMetaResolver
  /** --build-context names: never looked up in a registry. */
  namedContexts: ReadonlySet<string>
  /** --target: the per-stage rules follow only the stages it needs. */
  target?: string
  /** Every stage without a target (`--check`); a build checks what its last stage needs. */
  isAllStages?: boolean
}): Promise<CheckReport> {
  const patterns = opts.ignorePatterns
  const matcher = patterns !== undefined && patterns.length > 0 ? new PatternMatcher(patterns) : undefined
  return checkDockerfile({
    dockerfile: opts.text,
    file: opts.file,
    buildArgs: opts.buildArgs,
    targetPlatform: opts.targetPlatform,
    buildPlatform: opts.buildPlatform,
    ...(opts.target !== undefined ? { target: opts.target } : {}),
    ...(opts.isAllStages !== undefined ? { isAllStages: opts.isAllStages } : {}),
    ...(matcher !== undefined ? { dockerignore: { patterns: patterns!, matches: (path: string) => matcher.matches(path) } } : {}),
    // A base image that cannot be resolved is the conversion's error to report; the checks then assume only PATH.
    baseImageConfig: async (ref, platform) => {
      if (ref.toLowerCase() === 'scratch' || opts.namedContexts.has(ref)) return undefined
      try { return (await opts.resolver.resolveImageConfig(ref, { platform })).config.config } catch { return undefined }
    },
  })
}

/** A check finding as the build's event stream carries it (BuildKit puts them in SolveStatus.warnings). */
export function findingEvent (f: CheckFinding, time: number): WarningEvent {
  const rule = RULES[f.rule]
  return {
    type: 'warning', message: formatFinding(f), time, rule: f.rule, detail: [rule.description], url: rule.url,
    ...(f.range !== undefined ? { source: { file: f.file, ranges: [f.range] } } : {}),
  }
}

/** One of the conversion's warnings (`UnusedBuildArgs`) as an event. */
export function convertWarningEvent (w: ConvertWarning, file: string, time: number): WarningEvent {
  return {
    type: 'warning', message: w.message, time,
    ...(w.rule !== undefined ? { rule: w.rule } : {}),
    ...(w.range !== undefined ? { source: { file, ranges: [w.range] } } : {}),
  }
}

/** Findings reach the tty and plain views as the summary after the build, not as events. */
export function isCheckFindingEvent (e: { type: string; rule?: string }): boolean {
  return e.type === 'warning' && e.rule !== undefined && Object.hasOwn(RULES, e.rule)
}
