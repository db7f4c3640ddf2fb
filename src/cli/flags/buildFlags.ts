import { isAbsolute, join, resolve } from 'node:path'
import { classifyContextArg, type ContextArg } from '../../common/contextArg.js'
import { TsbuildError } from '../../common/errors.js'
import { hostPlatform, parsePlatform, type Platform } from '../../common/platform.js'
import type { BuildRequest, CallMode, Entitlement, NetworkMode, ProgressMode } from '../../engine/request.js'
import { parseAnnotationFlag } from '../../exporter/annotations.js'
import { parseOutputSpec } from '../../exporter/outputSpec.js'
import { parseAttestationFlags } from './attestFlags.js'
import { getBool, getList, getString, parseArgs, type FlagSpec } from './parseArgs.js'
import { foreignCommandError, foreignFlagError, foreignFlagsError, foreignValueError } from './foreignFlags.js'
import { LEGACY_BUILD_FLAGS, legacyFlagWarnings } from './legacyFlags.js'
import { parseAddHost, parseShmSize, parseUlimits } from './runFlags.js'
import { parseBuildContext, parseCacheSpec, parseSecretSpec, parseSshSpec } from './specs.js'

export const BUILD_FLAGS: readonly FlagSpec[] = [
  { long: 'file', short: 'f', kind: 'string' },
  { long: 'tag', short: 't', kind: 'list' },
  { long: 'platform', kind: 'list', commaList: true },
  { long: 'build-arg', kind: 'list' },
  { long: 'target', kind: 'string' },
  { long: 'output', short: 'o', kind: 'list' },
  { long: 'push', kind: 'bool' },
  { long: 'load', kind: 'bool' },
  { long: 'cache-from', kind: 'list' },
  { long: 'cache-to', kind: 'list' },
  { long: 'no-cache', kind: 'bool' },
  { long: 'no-cache-filter', kind: 'list', commaList: true },
  { long: 'secret', kind: 'list' },
  { long: 'ssh', kind: 'list' },
  { long: 'build-context', kind: 'list' },
  { long: 'progress', kind: 'string' },
  { long: 'metadata-file', kind: 'string' },
  { long: 'label', kind: 'list' },
  { long: 'network', kind: 'string' },
  { long: 'allow', kind: 'list', commaList: true },
  { long: 'add-host', kind: 'list' },
  { long: 'shm-size', kind: 'string' },
  { long: 'ulimit', kind: 'list' },
  { long: 'print', kind: 'string', optionalValue: true },
  { long: 'call', kind: 'string' },
  { long: 'check', kind: 'bool' },
  { long: 'max-parallelism', kind: 'string' },
  { long: 'explain', kind: 'bool' },
  { long: 'quiet', short: 'q', kind: 'bool' },
  { long: 'pull', kind: 'bool' },
  { long: 'iidfile', kind: 'string' },
  // String flags as in buildx, so `--provenance false` works as `--provenance=false` does.
  { long: 'provenance', kind: 'string' },
  { long: 'sbom', kind: 'string' },
  { long: 'attest', kind: 'list' },
  { long: 'annotation', kind: 'list' },
  { long: 'builder', kind: 'string' },
  { long: 'help', short: 'h', kind: 'bool' },
  ...LEGACY_BUILD_FLAGS,
]

const KNOWN_BUILD_FLAGS: ReadonlySet<string> = new Set(BUILD_FLAGS.map((f) => f.long))

/**
 * The request as the CLI has it: a remote context (git or http) is still a
 * URL in `remoteContext` (and `contextDir` is empty) until the CLI writes
 * it to a temp dir before the build.
 */
export type CliBuildRequest = BuildRequest & { help: boolean; load: boolean; /** Quiet progress prints the image digest after the build (not with --progress none). */ printImageId: boolean; /** Printed as warnings when the build starts. */ flagWarnings?: string[]; remoteContext?: Extract<ContextArg, { kind: 'git' | 'url' }> }

const PROGRESS: readonly ProgressMode[] = ['auto', 'tty', 'plain', 'rawjson', 'quiet']
const NETWORKS: readonly NetworkMode[] = ['default', 'none', 'host']
const ENTITLEMENTS: readonly Entitlement[] = ['network.host', 'security.insecure']
const CALLS: readonly CallMode[] = ['build', 'outline', 'targets', 'check']

/** argv of `tsbuild build` → a typed, validated BuildRequest (no I/O but stat-free path math). */
export function parseBuildArgs (argv: readonly string[], cwd: string, env: NodeJS.ProcessEnv): CliBuildRequest {
  const foreign = foreignFlagsError(argv, KNOWN_BUILD_FLAGS) ?? foreignValueError(argv)
  if (foreign !== undefined) throw foreign
  const p = parseArgs(argv, BUILD_FLAGS, 'build', foreignFlagError)
  const help = getBool(p, 'help')
  const foreignCommand = foreignCommandError(p.positionals)
  if (foreignCommand !== undefined) throw foreignCommand
  if (p.positionals.length > 1) {
    throw new TsbuildError('USAGE', `build takes exactly one context, got ${p.positionals.length}: ${p.positionals.join(' ')}`, { hint: 'flags go before or after the context; quote values with spaces' })
  }
  const ctxArg = p.positionals[0]
  if (ctxArg === undefined && !help) throw new TsbuildError('USAGE', 'build needs a context: tsbuild build [OPTIONS] PATH', { hint: 'use "." for the current directory' })
  const file = getString(p, 'file')
  // `-` (stdin), a git URL or an http(s) URL: the context is written to a temp dir before the build (see engine/contextSource).
  const contextArg = classifyContextArg(ctxArg ?? '.')
  const contextFromStdin = contextArg.kind === 'stdin'
  if (contextFromStdin && file === '-') {
    throw new TsbuildError('USAGE', 'invalid argument: can\'t use stdin for both build context and dockerfile', { hint: 'pipe a tar with the Dockerfile in it to "tsbuild build -", or pass a directory as the context and use -f -' })
  }
  const isLocalContext = contextArg.kind === 'local'
  const contextDir = contextArg.kind === 'local' ? resolve(cwd, contextArg.path) : ''
  const dockerfile = file === '-'
    ? { displayName: 'Dockerfile', fromStdin: true }
    : !isLocalContext
      // Placed once the context is written: -f is then relative to its root.
      ? { displayName: file ?? 'Dockerfile' }
      : file !== undefined
        ? { path: isAbsolute(file) ? file : resolve(cwd, file), displayName: file }
        : { path: join(contextDir, 'Dockerfile'), displayName: 'Dockerfile' }

  const platforms: Platform[] = getList(p, 'platform').map((s) => {
    // `local` is this machine's platform, as in buildx.
    if (s.trim() === 'local') return hostPlatform()
    try { return parsePlatform(s) } catch (e) { throw new TsbuildError('USAGE', `--platform: ${(e as Error).message}`) }
  })

  // As buildx: BUILDKIT_PROGRESS sets the mode when neither --progress nor --quiet does, and
  // `none` (buildx 0.29) shows what quiet shows, nothing, without printing the image digest after.
  const progressEnv = env.BUILDKIT_PROGRESS !== undefined && env.BUILDKIT_PROGRESS !== '' ? env.BUILDKIT_PROGRESS : undefined
  const progressFlag = getString(p, 'progress')
  const quiet = getBool(p, 'quiet')
  if (quiet && progressFlag !== undefined && progressFlag !== 'auto' && progressFlag !== 'quiet') {
    throw new TsbuildError('USAGE', `--progress=${progressFlag} and --quiet cannot be used together`, { hint: '--quiet is --progress=quiet' })
  }
  const modes = [...PROGRESS, 'none'] as const
  const chosenProgress = quiet
    ? 'quiet'
    : progressFlag !== undefined || progressEnv === undefined ? oneOf(progressFlag ?? 'auto', modes, '--progress') : oneOf(progressEnv, modes, 'BUILDKIT_PROGRESS')
  const progress: ProgressMode = chosenProgress === 'none' ? 'quiet' : chosenProgress
  const flagWarnings = legacyFlagWarnings(p)
  const network = oneOf(getString(p, 'network') ?? 'default', NETWORKS, '--network')
  const allow = new Set(getList(p, 'allow').map((a) => oneOf(a, ENTITLEMENTS, '--allow')))
  // Asking for the host network for the whole build grants it, as buildx does;
  // a `RUN --network=host` alone still needs --allow network.host.
  if (network === 'host') allow.add('network.host')

  const extraHosts = getList(p, 'add-host').flatMap((h) => parseAddHost(h, network))
  const shm = getString(p, 'shm-size')
  const shmSize = shm === undefined ? 0 : parseShmSize(shm)
  const ulimits = parseUlimits(getList(p, 'ulimit'))

  const { call, callFormat } = parseCall(getString(p, 'call'), getBool(p, 'check'))

  const provenance = parseAttestationFlags(getString(p, 'provenance'), getString(p, 'sbom'), getList(p, 'attest'))
  const annotations = getList(p, 'annotation').flatMap(parseAnnotationFlag)
  // --builder names a buildx builder instance; tsbuild is its own (only) builder, so the name is taken and not used.

  const print = p.values.get('print')
  if (print !== undefined && print !== 'llb' && print !== true) {
    // buildx 0.10–0.14 spelled --call as --print (outline, targets): point there.
    const call = print === 'outline' || print === 'targets' ? print : undefined
    throw new TsbuildError('USAGE', `--print=${String(print)} is not supported`, { hint: call !== undefined ? `did you mean --call=${call}? (buildx's spelling since 0.15; --print=llb prints the build graph)` : 'use --print=llb' })
  }

  const mp = getString(p, 'max-parallelism')
  const maxParallelism = mp === undefined ? undefined : Number(mp)
  if (maxParallelism !== undefined && (!Number.isInteger(maxParallelism) || maxParallelism < 1)) {
    throw new TsbuildError('USAGE', `--max-parallelism must be a positive integer, got ${JSON.stringify(mp)}`)
  }

  const outputs = getList(p, 'output')
  if (getString(p, 'iidfile') !== undefined && outputs.some(makesNoImage)) {
    throw new TsbuildError('USAGE', '--iidfile: local and tar outputs make no image, so there is no image ID to write', { hint: 'leave out --iidfile, or add an image: -t NAME, or -o type=oci|docker,dest=FILE' })
  }
  // There is no docker daemon to load into: --load keeps the image in tsbuild's
  // own store under its -t names (what -t alone does), beside any -o outputs.
  const load = getBool(p, 'load')
  if (load && getList(p, 'tag').length === 0 && !help) {
    throw new TsbuildError('USAGE', '--load needs -t NAME: tsbuild has no docker daemon, it keeps loaded images by name in its own image store', { hint: 'add -t NAME (see tsbuild images)' })
  }
  if (load && outputs.length > 0 && !outputs.some((o) => /(^|,)type=image(,|$)/.test(o))) outputs.push('type=image')

  return {
    help,
    load,
    contextDir,
    ...(flagWarnings.length > 0 ? { flagWarnings } : {}),
    ...(contextFromStdin ? { contextFromStdin } : {}),
    ...(contextArg.kind === 'git' || contextArg.kind === 'url' ? { remoteContext: contextArg } : {}),
    dockerfile,
    tags: getList(p, 'tag'),
    annotations,
    platforms,
    buildArgs: parseAssignments(getList(p, 'build-arg'), '--build-arg', env, 'from-env'),
    ...(getString(p, 'target') !== undefined ? { target: getString(p, 'target')! } : {}),
    outputs,
    push: getBool(p, 'push'),
    cacheFrom: getList(p, 'cache-from').map((s) => parseCacheSpec(s, 'from', cwd)),
    cacheTo: getList(p, 'cache-to').map((s) => parseCacheSpec(s, 'to', cwd)),
    noCache: getBool(p, 'no-cache'),
    noCacheFilter: getList(p, 'no-cache-filter'),
    secrets: getList(p, 'secret').map((s) => parseSecretSpec(s, cwd, env)),
    ssh: getList(p, 'ssh').map((s) => parseSshSpec(s, cwd)),
    buildContexts: new Map(getList(p, 'build-context').map((s) => parseBuildContext(s, cwd))),
    progress,
    printImageId: chosenProgress === 'quiet',
    ...(getString(p, 'metadata-file') !== undefined ? { metadataFile: filePath(cwd, getString(p, 'metadata-file')!) } : {}),
    labels: parseAssignments(getList(p, 'label'), '--label', env, 'empty'),
    network,
    allow,
    extraHosts,
    shmSize,
    ulimits,
    ...(print !== undefined ? { print: 'llb' as const } : {}),
    call,
    callFormat,
    ...(maxParallelism !== undefined ? { maxParallelism } : {}),
    explain: getBool(p, 'explain'),
    pull: getBool(p, 'pull'),
    ...(getString(p, 'iidfile') !== undefined ? { iidFile: filePath(cwd, getString(p, 'iidfile')!) } : {}),
    ...(provenance !== undefined ? { provenance } : {}),
  }
}

/**
 * `--call NAME[,format=json|text]`, as buildx takes it. Only outline and
 * targets have a JSON form; `--check` is `--call=check`.
 */
function parseCall (value: string | undefined, check: boolean): { call: CallMode; callFormat: 'text' | 'json' } {
  if (value === undefined) return { call: check ? 'check' : 'build', callFormat: 'text' }
  const fields = value.split(',')
  const formats = fields.filter((f) => f.startsWith('format='))
  const names = fields.filter((f) => !f.startsWith('format='))
  if (names.length !== 1) throw new TsbuildError('USAGE', `invalid value ${JSON.stringify(value)} for --call`, { hint: `expected one of: ${CALLS.join(', ')}, optionally with ,format=json` })
  const call = oneOf(names[0]!, CALLS, '--call')
  if (formats.length === 0) return { call, callFormat: 'text' }
  const format = formats[formats.length - 1]!.slice('format='.length)
  if (format !== 'json' && format !== 'text') throw new TsbuildError('USAGE', `--call: invalid format "${format}" (use json or text)`)
  if (format === 'json' && call !== 'outline' && call !== 'targets') throw new TsbuildError('USAGE', `--call=${call} has no format=json: only outline and targets print JSON`)
  return { call, callFormat: format }
}

/** As buildx refuses --iidfile beside them: `type=local` and `type=tar` (a bare path, `-`) write files, not an image. */
function makesNoImage (output: string): boolean {
  const type = parseOutputSpec(output).type
  return type === 'local' || type === 'tar'
}

/** A file flag's path, absolute; a trailing slash is kept so the check before the build can refuse a directory. */
function filePath (cwd: string, path: string): string {
  return resolve(cwd, path) + (path.endsWith('/') && path !== '/' ? '/' : '')
}

function oneOf<T extends string> (value: string, allowed: readonly T[], flag: string): T {
  if ((allowed as readonly string[]).includes(value)) return value as T
  throw new TsbuildError('USAGE', `invalid value ${JSON.stringify(value)} for ${flag}`, { hint: `expected one of: ${allowed.join(', ')}` })
}

/**
 * `K=V` pairs, as buildx reads them: a bare `K` takes its value from the
 * environment for --build-arg (none when unset), and is empty for --label.
 */
function parseAssignments (items: string[], flag: string, env: NodeJS.ProcessEnv, bare: 'from-env' | 'empty'): Map<string, string> {
  const out = new Map<string, string>()
  for (const item of items) {
    const eq = item.indexOf('=')
    const key = eq === -1 ? item : item.slice(0, eq)
    if (key === '') throw new TsbuildError('USAGE', `invalid ${flag} ${JSON.stringify(item)}: expected KEY=VALUE`)
    if (eq === -1) {
      if (bare === 'empty') { out.set(key, ''); continue }
      const v = env[key]
      if (v !== undefined) out.set(key, v)
      continue
    }
    out.set(key, item.slice(eq + 1))
  }
  return out
}
