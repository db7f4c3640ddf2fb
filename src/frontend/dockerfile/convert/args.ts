/**
 * Build arguments: the automatic platform args, the predefined proxy args,
 * and the global (meta) ARGs before the first FROM.
 */
import { formatPlatform, type Platform } from '../../../common/platform.js'
import type { ProxyEnv } from '../../../llb/index.js'
import type { ArgInstruction } from '../instructions/index.js'
import type { ShellLex } from '../shell/index.js'
import { locate } from './errors.js'

/** TARGETPLATFORM, TARGETOS, … and BUILDPLATFORM, …: in global scope without being declared. */
export function platformArgs (target: Platform, build: Platform): Map<string, string> {
  return new Map([
    ['BUILDPLATFORM', formatPlatform(build)],
    ['BUILDOS', build.os],
    ['BUILDARCH', build.architecture],
    ['BUILDVARIANT', build.variant ?? ''],
    ['TARGETPLATFORM', formatPlatform(target)],
    ['TARGETOS', target.os],
    ['TARGETARCH', target.architecture],
    ['TARGETVARIANT', target.variant ?? ''],
  ])
}

const PROXY_KEYS: Record<string, keyof ProxyEnv> = {
  http_proxy: 'httpProxy', https_proxy: 'httpsProxy', ftp_proxy: 'ftpProxy', no_proxy: 'noProxy', all_proxy: 'allProxy',
}

/** Build args that are always accepted: never reported as unused. */
export function isBuiltinArg (key: string): boolean {
  return PROXY_KEYS[key.toLowerCase()] !== undefined || key.startsWith('BUILDKIT_') || key === 'SOURCE_DATE_EPOCH'
}

/**
 * The proxy settings given as build args (either case). They reach RUN
 * through ExecMeta.proxyEnv, so they stay out of the cache key, the image
 * config and the history.
 */
export function proxyEnvFromBuildArgs (buildArgs: ReadonlyMap<string, string>): ProxyEnv | undefined {
  const env: { -readonly [K in keyof ProxyEnv]: ProxyEnv[K] } = {}
  let isSet = false
  for (const key of [...buildArgs.keys()].sort()) {
    const field = PROXY_KEYS[key.toLowerCase()]
    if (field === undefined) continue
    env[field] = buildArgs.get(key)!
    isSet = true
  }
  return isSet ? env : undefined
}

export interface MetaArgInfo {
  key: string
  /** Default as written in the Dockerfile, expanded. */
  defaultValue?: string
  instruction: ArgInstruction
}

/**
 * Apply the meta ARGs in order on top of the platform args: a --build-arg
 * value wins over the default; a default is expanded against the args so far.
 */
export function buildMetaArgs (opts: {
  base: ReadonlyMap<string, string>
  metaArgs: readonly ArgInstruction[]
  buildArgs: ReadonlyMap<string, string>
  lex: ShellLex
  file: string
}): { env: Map<string, string>; infos: MetaArgInfo[] } {
  const env = new Map(opts.base)
  const infos: MetaArgInfo[] = []
  for (const instr of opts.metaArgs) {
    for (const arg of instr.args) {
      const given = opts.buildArgs.get(arg.key)
      let defaultValue: string | undefined
      if (arg.value !== undefined) defaultValue = locate(opts.file, instr.range, () => opts.lex.processWord(arg.value!, env))
      const value = given ?? defaultValue
      if (value !== undefined) env.set(arg.key, value)
      infos.push({ key: arg.key, ...(defaultValue !== undefined ? { defaultValue } : {}), instruction: instr })
    }
  }
  return { env, infos }
}
