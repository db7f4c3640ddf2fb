/**
 * Flags of kaniko's executor and of `buildah bud` / `podman build` that
 * tsbuild does not take. Build scripts moved over from those tools pass them
 * as they are; instead of a bare "unknown flag" (or a typo guess that points
 * the wrong way, such as --no-push → --push), the error names the tool and
 * the docker buildx build spelling that does the same.
 */
import { TsbuildError } from '../../common/errors.js'

type Tool = 'kaniko' | 'buildah' | 'kaniko and buildah'

const SOURCE_DATE_EPOCH = 'SOURCE_DATE_EPOCH=SECONDS in the environment? (layer and image times are set to it, as in buildx)'
const CREDENTIALS = 'registry credentials come from the docker config: docker login, or DOCKER_CONFIG=DIR with DIR/config.json.'
const PLAIN_HTTP = 'registries are reached over https; plain http is used for loopback registries (localhost, 127.0.0.1) only.'
const NOT_NEEDED = 'tsbuild needs no such setting: leave the flag out.'

/**
 * Flag name (without dashes) → the tool it comes from and what to use
 * instead: a spelling that ends in `?` is shown as "did you mean …", any other
 * text as it is.
 */
const FOREIGN: ReadonlyMap<string, readonly [Tool, string]> = new Map<string, readonly [Tool, string]>([
  ['destination', ['kaniko', '-t NAME --push? (-t is repeatable)']],
  ['context', ['kaniko', 'the context is the last argument: tsbuild build [OPTIONS] DIR (a git URL works too).']],
  ['dockerfile', ['kaniko', '-f FILE?']],
  ['no-push', ['kaniko', 'leave out --push: -t NAME keeps the image in tsbuild\'s image store; without -t, -o or --push the result stays in the build cache.']],
  ['tar-path', ['kaniko', '-o type=docker,dest=FILE? (a tar docker load reads)']],
  ['oci-layout-path', ['kaniko', '-o type=oci,dest=DIR,tar=false?']],
  ['cache', ['kaniko', 'the build cache is on by default (--no-cache turns it off): leave the flag out.']],
  ['cache-repo', ['kaniko', '--cache-to type=registry,ref=REPO,mode=max --cache-from type=registry,ref=REPO?']],
  ['cache-dir', ['kaniko', 'base images are kept in tsbuild\'s state dir (TSBUILD_ROOT): leave the flag out.']],
  ['cache-ttl', ['kaniko and buildah', NOT_NEEDED]],
  ['cache-copy-layers', ['kaniko', NOT_NEEDED]],
  ['cache-run-layers', ['kaniko', NOT_NEEDED]],
  ['custom-platform', ['kaniko', '--platform OS/ARCH?']],
  ['digest-file', ['kaniko', '--metadata-file FILE? (its containerimage.digest is the manifest digest)']],
  ['image-name-with-digest-file', ['kaniko', '--metadata-file FILE? (image.name and containerimage.digest)']],
  ['image-name-tag-with-digest-file', ['kaniko', '--metadata-file FILE? (image.name and containerimage.digest)']],
  ['reproducible', ['kaniko', SOURCE_DATE_EPOCH]],
  ['snapshot-mode', ['kaniko', 'each step\'s changes are taken from its overlayfs layer: leave the flag out.']],
  ['single-snapshot', ['kaniko', 'leave the flag out; for one layer, copy the result of a build stage into a final stage (COPY --from).']],
  ['use-new-run', ['kaniko', NOT_NEEDED]],
  ['cleanup', ['kaniko', NOT_NEEDED]],
  ['compressed-caching', ['kaniko', NOT_NEEDED]],
  ['insecure', ['kaniko', PLAIN_HTTP]],
  ['insecure-pull', ['kaniko', PLAIN_HTTP]],
  ['skip-tls-verify', ['kaniko', PLAIN_HTTP]],
  ['skip-tls-verify-pull', ['kaniko', PLAIN_HTTP]],
  ['verbosity', ['kaniko', '--progress plain?']],
  ['layers', ['buildah', 'every step is cached, as with --layers: leave the flag out (--no-cache builds without the cache).']],
  ['format', ['buildah', 'images get OCI media types, as in buildx; for Docker\'s: -o type=image,name=NAME,oci-mediatypes=false.']],
  ['squash-all', ['buildah', 'copy the result of a build stage into a final FROM scratch stage (COPY --from).']],
  ['tls-verify', ['buildah', PLAIN_HTTP]],
  ['authfile', ['buildah', CREDENTIALS]],
  ['creds', ['buildah', CREDENTIALS]],
  ['cert-dir', ['buildah', CREDENTIALS]],
  ['jobs', ['buildah', '--max-parallelism N?']],
  ['timestamp', ['buildah', SOURCE_DATE_EPOCH]],
  ['manifest', ['buildah', '-t NAME --platform LIST? (several platforms make one index under NAME)']],
  ['arch', ['buildah', '--platform linux/ARCH?']],
  ['os', ['buildah', '--platform OS/ARCH?']],
  ['variant', ['buildah', '--platform linux/ARCH/VARIANT?']],
  ['build-arg-file', ['buildah', '--build-arg KEY=VALUE? (once for each line of the file)']],
  ['ignorefile', ['buildah', 'the ignore file is CONTEXT/.dockerignore, or FILE.dockerignore beside the Dockerfile FILE.']],
  ['volume', ['buildah', 'RUN --mount=type=bind|cache|tmpfs in the Dockerfile?']],
  ['env', ['buildah', 'ENV in the Dockerfile? (ARG with --build-arg for a value given at build time)']],
  ['cap-add', ['buildah', 'RUN --security=insecure in the Dockerfile, with --allow security.insecure?']],
  ['omit-history', ['buildah', NOT_NEEDED]],
  ['logfile', ['buildah', '--progress plain 2> FILE?']],
  ['pull-always', ['buildah', '--pull?']],
  ['all-platforms', ['buildah', '--platform OS/ARCH,OS/ARCH…? (the base image\'s platforms, listed)']],
  ['disable-compression', ['buildah', '-o type=image,name=NAME,compression=uncompressed?']],
  ['pull-never', ['buildah', 'leave out --pull: a base image the store has is then used as it is.']],
])

/** buildah's `--pull=POLICY` values; buildx's --pull is a switch. */
const PULL_POLICIES: Readonly<Record<string, string>> = {
  always: 'did you mean --pull?',
  newer: 'did you mean --pull?',
  missing: 'leave out --pull: a base image the store has is then used as it is, one it has not is pulled.',
  never: 'leave out --pull: a base image the store has is then used as it is (one it has not is still pulled).',
}

const BUILDX_NOTE = 'tsbuild takes docker buildx build\'s flags (see tsbuild build --help)'

function advice (instead: string): string {
  return /\?( \(.*\))?$/.test(instead) ? `did you mean ${instead}${instead.endsWith(')') ? '.' : ''}` : instead
}

/** The usage error for a flag of kaniko or buildah (`--name`), or undefined when it is not one. */
export function foreignFlagError (flag: string): TsbuildError | undefined {
  const entry = FOREIGN.get(flag.replace(/^--/, ''))
  if (entry === undefined || !flag.startsWith('--')) return undefined
  const [tool, instead] = entry
  return new TsbuildError('USAGE', `unknown flag: ${flag} (${tool === 'kaniko and buildah' ? 'a kaniko and buildah flag' : `a ${tool} flag`})`, {
    hint: `${advice(instead)} ${BUILDX_NOTE}`,
  })
}

/**
 * A command line carried over whole (a kaniko executor line in a CI job has
 * --context, --dockerfile and --destination) gets every such flag in one
 * error, so it is fixed in one go rather than one flag per run. `known` are
 * tsbuild's own long flags, which win over the table.
 */
export function foreignFlagsError (argv: readonly string[], known: ReadonlySet<string>): TsbuildError | undefined {
  const found: Array<[string, Tool, string]> = []
  for (const arg of argv) {
    if (arg === '--') break
    if (!arg.startsWith('--')) continue
    const name = arg.slice(2).split('=')[0]!
    const entry = FOREIGN.get(name)
    if (entry === undefined || known.has(name) || found.some(([n]) => n === name)) continue
    found.push([name, ...entry])
  }
  if (found.length < 2) return undefined
  const tools = new Set(found.flatMap(([, tool]) => tool.split(' and ')))
  return new TsbuildError('USAGE', `unknown flags: ${found.map(([n]) => `--${n}`).join(', ')} (${[...tools].join(' and ')} flags)`, {
    hint: `${found.map(([n, , instead]) => `--${n}: ${advice(instead)}`).join(' ')} ${BUILDX_NOTE}`,
  })
}

/** `--pull=always` and the other buildah pull policies, which buildx's --pull (true or false) does not take. */
export function foreignValueError (argv: readonly string[]): TsbuildError | undefined {
  for (const arg of argv) {
    if (arg === '--') return undefined
    const m = /^--pull=(.*)$/.exec(arg)
    const advice = m !== null ? PULL_POLICIES[m[1]!.toLowerCase()] : undefined
    if (advice === undefined) continue
    return new TsbuildError('USAGE', `invalid value ${JSON.stringify(m![1])} for --pull: a buildah pull policy; --pull is true or false`, {
      hint: `${advice} tsbuild takes docker buildx build's flags (see tsbuild build --help)`,
    })
  }
  return undefined
}

/** `tsbuild bud …`: buildah's name for the build command. */
export function foreignCommandError (positionals: readonly string[]): TsbuildError | undefined {
  if (positionals.length < 2 || positionals[0] !== 'bud') return undefined
  return new TsbuildError('USAGE', '"bud" is buildah\'s build command (build-using-dockerfile); tsbuild\'s is "build"', {
    hint: 'did you mean tsbuild build -t NAME . ? The flags are docker buildx build\'s (see tsbuild build --help)',
  })
}
