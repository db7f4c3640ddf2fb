/**
 * The image config a stage accumulates and the history entries BuildKit
 * writes for each instruction (`created_by`, `empty_layer`, comment).
 */
import type { HistoryEntry, ImageConfig } from '../../../common/oci.js'
import type { Platform } from '../../../common/platform.js'
import { goQuote } from '../parser/index.js'

export const HISTORY_COMMENT = 'buildkit.dockerfile.v0'
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
export const DEFAULT_SHELL: readonly string[] = ['/bin/sh', '-c']

/** The config of `FROM scratch`: only PATH. */
export function emptyImage (platform: Platform): ImageConfig {
  return {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant !== undefined ? { variant: platform.variant } : {}),
    config: { Env: [`PATH=${DEFAULT_PATH}`] },
    rootfs: { type: 'layers', diff_ids: [] },
  }
}

/** A deep copy a stage may change freely; the base image's `created` is dropped, as BuildKit does. */
export function cloneImage (img: ImageConfig): ImageConfig {
  // History entries hold only primitives, so copying each is a deep copy; a
  // structuredClone of thousands of them was a measured cost in big Dockerfiles.
  const { history, ...rest } = img
  const copy: ImageConfig = structuredClone(rest)
  if (history !== undefined) copy.history = history.map(h => ({ ...h }))
  delete copy.created
  copy.config ??= {}
  return copy
}

/** Seconds since the epoch → RFC 3339 as Go prints it (no fraction when whole). */
export function epochToTime (epoch: number): string {
  return new Date(epoch * 1000).toISOString().replace('.000Z', 'Z')
}

/**
 * Append a history entry. `withState` adds BuildKit's ` # buildkit` marker
 * (RUN, COPY, ADD); `withLayer` says whether the instruction made a layer.
 */
export function commitToHistory (img: ImageConfig, createdBy: string, opts: { withLayer: boolean; withState?: boolean; created?: string }): void {
  const entry: HistoryEntry = {
    ...(opts.created !== undefined ? { created: opts.created } : {}),
    created_by: opts.withState === true ? `${createdBy} # buildkit` : createdBy,
    comment: HISTORY_COMMENT,
    ...(opts.withLayer ? {} : { empty_layer: true }),
  }
  ;(img.history ??= []).push(entry)
}

/** Set KEY=value in an Env list (changing it), replacing an existing entry in place. */
export function setEnv (env: string[], key: string, value: string): void {
  // A plain loop: a stage's Env can hold hundreds of entries and every ENV
  // pair looks through it.
  const prefix = `${key}=`
  for (let i = 0; i < env.length; i++) {
    const e = env[i]!
    if (e === key || e.startsWith(prefix)) { env[i] = prefix + value; return }
  }
  env.push(prefix + value)
}

/** Go's `%q` of a []string: `["a" "b"]`. */
export function goQuoteList (list: readonly string[]): string {
  return `[${list.map(goQuote).join(' ')}]`
}

/** Go's `%v` of a []string: `[a b]`. */
export function goList (list: readonly string[]): string {
  return `[${list.join(' ')}]`
}

/** Go's `%v` of a map[string]struct{}: keys sorted, `map[80/tcp:{}]`. */
export function goSetMap (keys: Iterable<string>): string {
  return `map[${[...keys].sort().map(k => `${k}:{}`).join(' ')}]`
}

/** Go's time.Duration String(): `1m30s`, `500ms`, `0s`. */
export function goDuration (ns: number): string {
  if (ns === 0) return '0s'
  const sign = ns < 0 ? '-' : ''
  let n = Math.abs(ns)
  if (n < 1e3) return `${sign}${n}ns`
  if (n < 1e6) return `${sign}${trim(n / 1e3)}µs`
  if (n < 1e9) return `${sign}${trim(n / 1e6)}ms`
  let out = ''
  const h = Math.floor(n / 3600e9)
  if (h > 0) { out += `${h}h`; n -= h * 3600e9 }
  const m = Math.floor(n / 60e9)
  if (h > 0 || m > 0) { out += `${m}m`; n -= m * 60e9 }
  return `${sign}${out}${trim(n / 1e9)}s`
}

function trim (x: number): string {
  return String(Number(x.toFixed(9)))
}
