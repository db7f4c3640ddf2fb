/**
 * Build contexts that are not a local directory, made into one before the
 * build: stdin (`tsbuild build -`), a git repository
 * (`tsbuild build https://host/org/repo.git#v1:docker`) and an http(s)
 * download. Each is written into a fresh directory under the state dir's
 * `tmp/` (never held in memory: a context can be large) and removed after
 * the build; a crash leaves only that directory, which garbage collection
 * sweeps once it is an hour old.
 *
 * As docker and BuildKit do: a tar (plain, gzip, bzip2, xz or zstd) from
 * stdin or a URL is the context, with the Dockerfile inside it; any other
 * content is the Dockerfile itself and the context is empty. `-f PATH` is
 * relative to the context's root (a git context's root is its subdir).
 */
import { createWriteStream } from 'node:fs'
import { mkdir, mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'
import type { ContextArg } from '../common/contextArg.js'
import { TsbuildError } from '../common/errors.js'
import { failOnHttpError, fetchForDownload } from '../common/fetchPorts.js'
import { parseGoBool, redactUrl } from '../common/gitRef.js'
import { resolveInRoot } from '../common/pathInRoot.js'
import { detectArchive, unpackArchive } from '../solver/ops/file/unpack.js'
import { checkoutGit, gitTools } from '../solver/ops/source/git.js'

export type RemoteContextArg = Exclude<ContextArg, { kind: 'local' }>

export interface MaterializedContext {
  /** The directory the build reads as its context. */
  readonly contextDir: string
  /** The Dockerfile inside the context; undefined when the input was the Dockerfile itself (`dockerfileText`) or `-f -` was given. */
  readonly dockerfilePath?: string
  readonly dockerfileText?: string
  /** Remove what was written; safe to call more than once. */
  remove (): Promise<void>
}

export interface MaterializeOptions {
  readonly stateDir: string
  /** `-f` as given (default `Dockerfile`), relative to the context's root. */
  readonly dockerfile: string
  /** `-f -`: the Dockerfile comes from stdin, so none is looked for in the context. */
  readonly isDockerfileFromStdin: boolean
  /** Read for a stdin context. */
  readonly stdin?: Readable
  /** The build's `--build-arg`s (BUILDKIT_CONTEXT_KEEP_GIT_DIR keeps a git context's `.git`). */
  readonly buildArgs: ReadonlyMap<string, string>
  /** The environment git runs with (credentials, GIT_SSH_COMMAND, proxies). */
  readonly env: Readonly<Record<string, string | undefined>>
  readonly signal?: AbortSignal
  readonly fetch?: typeof globalThis.fetch
}

/** Write the context `source` names into a temp dir; the caller must call `remove()` when the build is over. */
export async function materializeContext (source: RemoteContextArg, opts: MaterializeOptions): Promise<MaterializedContext> {
  const tmp = join(opts.stateDir, 'tmp')
  await mkdir(tmp, { recursive: true })
  // The pid in the name keeps garbage collection off it while this build runs, however long (see sweepTemp).
  const dir = await mkdtemp(join(tmp, `${source.kind}-context-${process.pid}-`))
  const remove = async (): Promise<void> => { await rm(dir, { recursive: true, force: true }) }
  try {
    const contextDir = join(dir, 'context')
    await mkdir(contextDir)
    const signal = opts.signal ?? new AbortController().signal
    switch (source.kind) {
      case 'stdin': {
        if (opts.stdin === undefined) throw new Error('a stdin context needs the stdin stream')
        const spooled = join(dir, 'stdin')
        await pipeline(opts.stdin, createWriteStream(spooled, { mode: 0o600 }))
        return { ...await contextFromFile(spooled, contextDir, 'the context from stdin', opts), remove }
      }
      case 'url': {
        const spooled = join(dir, 'download')
        await download(source.url, spooled, opts.fetch ?? globalThis.fetch, signal)
        return { ...await contextFromFile(spooled, contextDir, `the context at ${redactUrl(source.url)}`, opts), remove }
      }
      case 'git': {
        const g = source.git
        const keepArg = opts.buildArgs.get('BUILDKIT_CONTEXT_KEEP_GIT_DIR')
        const keepGitDir = (g.keepGitDir ?? false) || (keepArg !== undefined && parseGoBool(keepArg) === true)
        await checkoutGit({
          remote: g.remote,
          ...(g.ref !== undefined ? { ref: g.ref } : {}),
          ...(g.subdir !== undefined ? { subdir: g.subdir } : {}),
          ...(g.checksum !== undefined ? { checksum: g.checksum } : {}),
          keepGitDir,
          stateDir: opts.stateDir,
          dest: contextDir,
        }, gitTools({ env: opts.env, signal }))
        if (opts.isDockerfileFromStdin) return { contextDir, remove }
        return { contextDir, dockerfilePath: await dockerfileIn(contextDir, opts.dockerfile, `the git context ${redactUrl(source.url)}`), remove }
      }
    }
  } catch (err) {
    await remove()
    throw err
  }
}

/** A spooled stdin or download: an archive is unpacked as the context; anything else is the Dockerfile. */
async function contextFromFile (file: string, contextDir: string, what: string, opts: MaterializeOptions): Promise<{ contextDir: string; dockerfilePath?: string; dockerfileText?: string }> {
  if (await detectArchive(file) === undefined) {
    // With -f - the Dockerfile is on stdin, so the download is the (one-file) context, named as BuildKit names it.
    if (opts.isDockerfileFromStdin) {
      await rename(file, join(contextDir, 'context'))
      return { contextDir }
    }
    // As docker build: input that is not an archive is the Dockerfile, whatever -f says.
    return { contextDir, dockerfileText: await readFile(file, 'utf8') }
  }
  await unpackArchive(file, contextDir, '/', undefined)
  await rm(file, { force: true })
  if (opts.isDockerfileFromStdin) return { contextDir }
  return { contextDir, dockerfilePath: await dockerfileIn(contextDir, opts.dockerfile, what) }
}

async function dockerfileIn (contextDir: string, dockerfile: string, what: string): Promise<string> {
  const path = await resolveInRoot(contextDir, dockerfile, { followFinal: true })
  const isFile = await stat(path).then((s) => s.isFile(), () => false)
  if (!isFile) {
    throw new TsbuildError('NOT_FOUND', `${what} has no ${dockerfile}`, {
      hint: 'put a Dockerfile at the root of the context, or name it with -f PATH, relative to the context\'s root',
    })
  }
  return path
}

/** Stream `url` into `dest`, following redirects; a non-2xx answer or a network failure is a TsbuildError naming the URL. */
async function download (url: string, dest: string, fetchFn: typeof globalThis.fetch, signal: AbortSignal): Promise<void> {
  const shown = redactUrl(url)
  // fetch refuses a URL with credentials in it: they become a Basic authorization header, as curl sends them.
  let target: URL
  try { target = new URL(url) } catch { throw new TsbuildError('USAGE', `invalid build context URL ${shown}`) }
  const headers: Record<string, string> = {}
  if (target.username !== '' || target.password !== '') {
    const user = decodeURIComponent(target.username)
    const password = decodeURIComponent(target.password)
    headers['authorization'] = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
    target.username = ''
    target.password = ''
  }
  const res = await fetchForDownload(fetchFn, target, { redirect: 'follow', signal, headers }, { subject: `the build context ${shown}`, name: shown, redact: redactUrl })
  await failOnHttpError(res, `the build context ${shown}`)
  try {
    await pipeline(Readable.fromWeb(res.body! as WebReadableStream<Uint8Array>), createWriteStream(dest, { mode: 0o600 }), { signal })
  } catch (err) {
    if (signal.aborted) throw new TsbuildError('CANCELLED', `download of ${shown} was cancelled`, { cause: err })
    throw new TsbuildError('UNAVAILABLE', `download of the build context ${shown} broke off: ${(err as Error).message}`, { cause: err })
  }
}
