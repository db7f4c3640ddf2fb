import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readdir, rm } from 'node:fs/promises'
import { join, posix } from 'node:path'
import { withFileLock } from '../../../cache/index.js'
import type { CacheRecord } from '../../../cache/records/index.js'
import { snapshotName, type Snapshotter } from '../../../cache/snapshots/index.js'
import { canonicalJson, digestHex, sha256 } from '../../../common/digest.js'
import { TsbuildError } from '../../../common/errors.js'
import { redactUrl, stripUrlCredentials } from '../../../common/gitRef.js'
import type { GitSourceAttrs } from '../../../llb/index.js'
import type { CacheMap, OpContext, OpRunner, Result } from '../../scheduler/types.js'

export interface GitSourceDeps {
  snapshotter: Snapshotter
  stateDir: string
  /** The git binary (default `git`). */
  git?: string
  /** Environment for git (credentials helpers, proxies, GIT_SSH_COMMAND); default: inherited. */
  env?: Readonly<Record<string, string | undefined>>
}

const COMMIT_RE = /^[0-9a-f]{40}$/
// Fetches of big repositories on slow links can take long; waiters for the same repo queue meanwhile.
const REPO_LOCK_WAIT_MS = 3600_000

/** How git runs: the binary, its environment (credential helpers, proxies, GIT_SSH_COMMAND) and the cancel signal. */
export interface GitTools {
  readonly bin: string
  readonly env: NodeJS.ProcessEnv
  readonly signal: AbortSignal
}

export function gitTools (opts: { git?: string; env?: Readonly<Record<string, string | undefined>>; signal: AbortSignal }): GitTools {
  // Never wait on a terminal prompt for credentials in a build.
  return { bin: opts.git ?? 'git', env: { ...(opts.env ?? process.env), GIT_TERMINAL_PROMPT: '0' }, signal: opts.signal }
}

export interface GitCheckoutOptions {
  readonly remote: string
  /** Branch, tag or full commit; absent means the remote's HEAD. */
  readonly ref?: string
  /** The directory of the repository to write; it becomes the root of `dest`. */
  readonly subdir?: string
  /** A commit `ref` must resolve to (BuildKit's git checksum). */
  readonly checksum?: string
  /** Keep a `.git` dir (only without `subdir`, as in BuildKit). */
  readonly keepGitDir: boolean
  readonly stateDir: string
  /** An existing, empty directory. */
  readonly dest: string
}

/**
 * Check out `ref` of `remote` (and only its `subdir`) into `dest`, through
 * the remote's shared bare repository under `<stateDir>/git/`, as a git
 * source does. Returns the commit written.
 */
export async function checkoutGit (opts: GitCheckoutOptions, tools: GitTools): Promise<{ commit: string }> {
  const { commit, ref } = await resolveGitRef(opts.remote, opts.ref, tools)
  if (opts.checksum !== undefined && commit !== opts.checksum) {
    throw new TsbuildError('DIGEST_MISMATCH', `${redactUrl(opts.remote)} at ${opts.ref ?? 'HEAD'} is commit ${commit}, expected ${opts.checksum}`)
  }
  const bare = await fetchGitCommit(opts.remote, commit, ref, opts.stateDir, tools)
  await writeGitTree({ remote: opts.remote, bare, commit, subdir: cleanSubdir(opts.subdir), keepGitDir: opts.keepGitDir, dest: opts.dest }, tools)
  return { commit }
}

function cleanSubdir (subdir: string | undefined): string {
  return posix.normalize('/' + (subdir ?? '')).replace(/^\/+|\/+$/g, '')
}

/**
 * A git checkout as one layer, through the system `git`. The cache key is
 * the resolved commit (`git ls-remote`; a full commit SHA needs no network).
 * Each remote has one bare repository under `<stateDir>/git/`, fetched into
 * shallowly under a lock file, so concurrent builds share it; the checkout is
 * `git archive` of the commit (or of `subdir`, which becomes the root), or a
 * real clone at the commit when `keepGitDir` is set (with a `subdir`, the
 * `.git` dir lies outside the output and is not kept, as in BuildKit).
 */
export class GitSource implements OpRunner {
  readonly resource = 'io' as const
  private readonly attrs: GitSourceAttrs
  private readonly deps: GitSourceDeps
  private resolved?: Promise<{ commit: string; ref?: string }>

  constructor (attrs: GitSourceAttrs, deps: GitSourceDeps) {
    this.attrs = attrs
    this.deps = deps
  }

  private get subdir (): string {
    return cleanSubdir(this.attrs.subdir)
  }

  async cacheMap (ctx: OpContext): Promise<CacheMap> {
    const { commit } = await this.resolve(ctx)
    return {
      digest: sha256(canonicalJson({ kind: 'git', remote: this.attrs.remote, commit, subdir: this.subdir, keepGitDir: this.attrs.keepGitDir })),
      deps: [],
      explain: { remote: redactUrl(this.attrs.remote), ref: this.attrs.ref ?? 'HEAD', commit },
    }
  }

  async exec (ctx: OpContext): Promise<Result> {
    const { commit, ref } = await this.resolve(ctx)
    const name = `git-${digestHex(sha256(canonicalJson({ remote: this.attrs.remote, commit, subdir: this.subdir, keepGitDir: this.attrs.keepGitDir })))}`
    if (await this.deps.snapshotter.stat(snapshotName(name)) !== undefined) return { layers: [name] }
    const tools = this.tools(ctx)
    const bare = await fetchGitCommit(this.attrs.remote, commit, ref, this.deps.stateDir, tools)
    await checkSubdir(this.attrs.remote, bare, commit, this.subdir, tools)
    await this.deps.snapshotter.createCommitted(snapshotName(name), async (fsDir) => {
      await writeGitTree({ remote: this.attrs.remote, bare, commit, subdir: this.subdir, keepGitDir: this.attrs.keepGitDir, dest: fsDir }, tools)
    })
    return { layers: [name] }
  }

  load (record: CacheRecord): Result {
    return { layers: [...(record.layers ?? [])] }
  }

  private async resolve (ctx: OpContext): Promise<{ commit: string; ref?: string }> {
    this.resolved ??= resolveGitRef(this.attrs.remote, this.attrs.ref, this.tools(ctx))
    this.resolved.catch(() => { this.resolved = undefined })
    return await this.resolved
  }

  private tools (ctx: OpContext): GitTools {
    return gitTools({ ...(this.deps.git !== undefined ? { git: this.deps.git } : {}), ...(this.deps.env !== undefined ? { env: this.deps.env } : {}), signal: ctx.signal })
  }
}

/** `ref` (default HEAD) of `remote` → its commit, and the full ref name it matched (none for a commit SHA). */
export async function resolveGitRef (remote: string, refOrCommit: string | undefined, tools: GitTools): Promise<{ commit: string; ref?: string }> {
  const ref = refOrCommit ?? 'HEAD'
  if (COMMIT_RE.test(ref)) return { commit: ref }
  const out = await runGit(tools, ['ls-remote', '--', remote, ref, `${ref}^{}`]).catch((err: unknown) => {
    if (err instanceof TsbuildError) throw err
    throw new TsbuildError('UNAVAILABLE', `cannot reach git remote ${redactUrl(remote)}: ${gitSaid(err)}`)
  })
  const refs = new Map<string, string>()
  for (const line of out.split('\n')) {
    const [sha, name] = line.split('\t')
    if (sha !== undefined && name !== undefined) refs.set(name, sha)
  }
  // Same precedence as git's own ref lookup; an annotated tag resolves to its commit (`^{}`).
  for (const candidate of ref === 'HEAD' ? ['HEAD'] : [ref, `refs/tags/${ref}`, `refs/heads/${ref}`, `refs/${ref}`]) {
    const sha = refs.get(`${candidate}^{}`) ?? refs.get(candidate)
    if (sha !== undefined) return { commit: sha, ref: candidate }
  }
  throw new TsbuildError('NOT_FOUND', `git ref ${JSON.stringify(ref)} not found in ${redactUrl(remote)}`, {
    hint: 'use a branch, a tag or a full 40-character commit SHA',
  })
}

/** Make `commit` present in the remote's bare repository (and pinned by a ref); returns the repository path. */
async function fetchGitCommit (remote: string, commit: string, ref: string | undefined, stateDir: string, tools: GitTools): Promise<string> {
  const dir = join(stateDir, 'git')
  await mkdir(dir, { recursive: true })
  const bare = join(dir, `${digestHex(sha256(remote)).slice(0, 32)}.git`)
  await withFileLock(`${bare}.lock`, async () => {
    await runGit(tools, ['init', '-q', '--bare', bare])
    if (await hasCommit(bare, commit, tools)) return
    await removePartialPacks(bare)
    const pin = `refs/tsbuild/${commit}`
    // Shallow first; dumb-http remotes cannot do shallow, and some servers refuse to serve a bare SHA.
    // Options go before `--`: after it git takes every word as the remote or a refspec.
    const attempts: Array<{ options: string[]; args: string[] }> = ref !== undefined
      ? [{ options: ['--depth=1'], args: [remote, `+${ref}:${pin}`] }, { options: [], args: [remote, `+${ref}:${pin}`] }]
      : [{ options: ['--depth=1'], args: [remote, `+${commit}:${pin}`] }, { options: [], args: [remote, '+refs/heads/*:refs/tsbuild-all/heads/*', '+refs/tags/*:refs/tsbuild-all/tags/*'] }]
    let lastError: unknown
    for (const { options, args } of attempts) {
      try {
        await runGit(tools, ['--git-dir', bare, 'fetch', '-q', '--no-tags', ...options, '--', ...args])
        if (await hasCommit(bare, commit, tools)) break
      } catch (err) {
        if (tools.signal.aborted) throw err
        lastError = err
      }
    }
    if (!(await hasCommit(bare, commit, tools))) {
      const cause = lastError instanceof Error ? `: ${gitSaid(lastError)}` : ''
      throw new TsbuildError('NOT_FOUND', `commit ${commit} not found in ${redactUrl(remote)}${ref !== undefined ? ` (${ref} may have moved)` : ''}${cause}`)
    }
    await runGit(tools, ['--git-dir', bare, 'update-ref', pin, commit])
  }, { timeoutMs: REPO_LOCK_WAIT_MS, signal: tools.signal })
  return bare
}

/**
 * A fetch over dumb HTTP killed midway leaves `objects/pack/*.pack.temp`,
 * which the next fetch resumes with a Range request; a server that answers
 * with the whole file makes that pack corrupt and the fetch fail. Called
 * under the repository's lock, so no git of ours is writing them.
 */
async function removePartialPacks (bare: string): Promise<void> {
  const packDir = join(bare, 'objects', 'pack')
  const names = await readdir(packDir).catch(() => [])
  await Promise.all(names.filter((n) => n.endsWith('.temp')).map(async (n) => { await rm(join(packDir, n), { force: true }) }))
}

async function hasCommit (bare: string, commit: string, tools: GitTools): Promise<boolean> {
  return await runGit(tools, ['--git-dir', bare, 'cat-file', '-e', `${commit}^{commit}`]).then(() => true, () => false)
}

async function checkSubdir (remote: string, bare: string, commit: string, subdir: string, tools: GitTools): Promise<void> {
  if (subdir === '') return
  const kind = await runGit(tools, ['--git-dir', bare, 'cat-file', '-t', `${commit}:${subdir}`]).catch(() => '')
  if (kind.trim() !== 'tree') throw new TsbuildError('NOT_FOUND', `subdirectory ${JSON.stringify(subdir)} not found in ${redactUrl(remote)} at ${commit}`)
}

/** Write the tree of `commit` (or of its `subdir`) into the existing directory `dest`. */
async function writeGitTree (o: { remote: string; bare: string; commit: string; subdir: string; keepGitDir: boolean; dest: string }, tools: GitTools): Promise<void> {
  await checkSubdir(o.remote, o.bare, o.commit, o.subdir, tools)
  if (o.keepGitDir && o.subdir === '') {
    await runGit(tools, ['init', '-q', o.dest])
    await runGit(tools, ['-C', o.dest, 'fetch', '-q', '--depth=1', '--no-tags', `file://${o.bare}`, `refs/tsbuild/${o.commit}`])
    await runGit(tools, ['-C', o.dest, '-c', 'advice.detachedHead=false', 'checkout', '-q', o.commit])
    // The kept .git may end up in an image: its origin never holds a password or token.
    await runGit(tools, ['-C', o.dest, 'remote', 'add', 'origin', stripUrlCredentials(o.remote)])
  } else {
    // archive keeps modes and links and stamps files with the commit time, so rebuilds are byte-identical.
    const treeish = o.subdir === '' ? o.commit : `${o.commit}:${o.subdir}`
    await pipeToTar(tools, ['--git-dir', o.bare, '-c', 'tar.umask=022', 'archive', '--format=tar', treeish], o.dest)
  }
}

/** A git command that exited non-zero; `stderr` is what git said, for messages. */
class GitCommandError extends Error {
  constructor (message: string, readonly stderr: string) { super(message) }
}

/** What git said, on one line, credentials masked. */
function gitSaid (err: unknown): string {
  const text = err instanceof GitCommandError && err.stderr !== '' ? err.stderr : (err as Error).message
  return redactUrl(text.split('\n').map((l) => l.trim()).filter((l) => l !== '').join(' '))
}

/**
 * util-linux's setpriv, when present. A git (a long fetch) left running by a
 * tsbuild killed with SIGKILL would go on writing into the shared bare
 * repository while the next build, finding the lock's owner dead, fetches
 * into it too. So git runs in a process group of its own under a shell that
 * setpriv signals when tsbuild dies, and the shell kills the whole group:
 * git's helpers too (git-remote-http downloads a dumb-HTTP pack itself).
 */
let setprivPath: string | undefined | null = null
function findSetpriv (): string | undefined {
  if (setprivPath === null) setprivPath = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p))
  return setprivPath
}

const GROUP_GUARD = 'trap "kill -KILL 0" TERM; "$@" & wait $!'

const missingGit = (): TsbuildError => new TsbuildError('MISSING_DEPENDENCY', 'git is required for git sources but was not found', { hint: 'apt-get install git' })

async function runGit (tools: GitTools, args: readonly string[]): Promise<string> {
  const { signal } = tools
  const setpriv = findSetpriv()
  return await new Promise((resolve, reject) => {
    // The abort signal sends the shell SIGTERM too, so a cancelled fetch takes its helpers with it.
    const child = setpriv !== undefined
      ? spawn(setpriv, ['--pdeathsig', 'TERM', 'sh', '-c', GROUP_GUARD, 'sh', tools.bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: tools.env, signal, detached: true })
      : spawn(tools.bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: tools.env, signal })
    let out = ''
    let errOut = ''
    child.stdout.on('data', (c: Buffer) => { out += c.toString() })
    child.stderr.on('data', (c: Buffer) => { errOut += c.toString() })
    child.on('error', (err) => {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') reject(missingGit())
      else if (signal.aborted) reject(new TsbuildError('CANCELLED', 'git was cancelled', { cause: err }))
      else reject(err)
    })
    child.on('close', (code) => {
      if (code === 0) resolve(out)
      else if (setpriv !== undefined && code === 127) reject(missingGit())
      else reject(new GitCommandError(`git ${args.join(' ')}: exit ${code}: ${errOut.trim()}`, errOut.trim()))
    })
  })
}

async function pipeToTar (tools: GitTools, args: readonly string[], dest: string): Promise<void> {
  const { signal } = tools
  await new Promise<void>((resolve, reject) => {
    const archive = spawn(tools.bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: tools.env, signal })
    const tar = spawn('tar', ['-x', '-p', '--same-owner', '-C', dest], { stdio: ['pipe', 'ignore', 'pipe'], signal })
    archive.stdout.pipe(tar.stdin)
    let errOut = ''
    archive.stderr.on('data', (c: Buffer) => { errOut += c.toString() })
    tar.stderr.on('data', (c: Buffer) => { errOut += c.toString() })
    let pending = 2
    let failed = false
    const settle = (what: string) => (code: number | null) => {
      if (code !== 0 && !failed) { failed = true; reject(new Error(`${what}: exit ${code}: ${errOut.trim()}`)) }
      if (--pending === 0 && !failed) resolve()
    }
    archive.on('error', reject)
    tar.on('error', reject)
    archive.on('close', settle('git archive'))
    tar.on('close', settle('tar -x'))
  })
}
