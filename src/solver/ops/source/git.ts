import { spawn } from 'node:child_process'
import { mkdir } from 'node:fs/promises'
import { join, posix } from 'node:path'
import { withFileLock } from '../../../cache/index.js'
import type { CacheRecord } from '../../../cache/records/index.js'
import { snapshotName, type Snapshotter } from '../../../cache/snapshots/index.js'
import { canonicalJson, digestHex, sha256 } from '../../../common/digest.js'
import { TsbuildError } from '../../../common/errors.js'
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
    return posix.normalize('/' + (this.attrs.subdir ?? '')).replace(/^\/+|\/+$/g, '')
  }

  async cacheMap (ctx: OpContext): Promise<CacheMap> {
    const { commit } = await this.resolve(ctx)
    return {
      digest: sha256(canonicalJson({ kind: 'git', remote: this.attrs.remote, commit, subdir: this.subdir, keepGitDir: this.attrs.keepGitDir })),
      deps: [],
      explain: { remote: this.attrs.remote, ref: this.attrs.ref ?? 'HEAD', commit },
    }
  }

  async exec (ctx: OpContext): Promise<Result> {
    const { commit, ref } = await this.resolve(ctx)
    const name = `git-${digestHex(sha256(canonicalJson({ remote: this.attrs.remote, commit, subdir: this.subdir, keepGitDir: this.attrs.keepGitDir })))}`
    if (await this.deps.snapshotter.stat(snapshotName(name)) !== undefined) return { layers: [name] }
    const bare = await this.fetchCommit(ctx, commit, ref)
    if (this.subdir !== '') {
      const kind = await this.git(ctx, ['--git-dir', bare, 'cat-file', '-t', `${commit}:${this.subdir}`]).catch(() => '')
      if (kind.trim() !== 'tree') throw new TsbuildError('NOT_FOUND', `subdirectory ${JSON.stringify(this.subdir)} not found in ${this.attrs.remote} at ${commit}`)
    }
    await this.deps.snapshotter.createCommitted(snapshotName(name), async (fsDir) => {
      if (this.attrs.keepGitDir && this.subdir === '') {
        await this.git(ctx, ['init', '-q', fsDir])
        await this.git(ctx, ['-C', fsDir, 'fetch', '-q', '--depth=1', '--no-tags', `file://${bare}`, `refs/tsbuild/${commit}`])
        await this.git(ctx, ['-C', fsDir, '-c', 'advice.detachedHead=false', 'checkout', '-q', commit])
        await this.git(ctx, ['-C', fsDir, 'remote', 'add', 'origin', this.attrs.remote])
      } else {
        // archive keeps modes and links and stamps files with the commit time, so rebuilds are byte-identical.
        const treeish = this.subdir === '' ? commit : `${commit}:${this.subdir}`
        await pipeToTar(this.deps.git ?? 'git', ['--git-dir', bare, '-c', 'tar.umask=022', 'archive', '--format=tar', treeish], fsDir, this.env(), ctx.signal)
      }
    })
    return { layers: [name] }
  }

  load (record: CacheRecord): Result {
    return { layers: [...(record.layers ?? [])] }
  }

  private async resolve (ctx: OpContext): Promise<{ commit: string; ref?: string }> {
    this.resolved ??= this.resolveRef(ctx)
    this.resolved.catch(() => { this.resolved = undefined })
    return await this.resolved
  }

  private async resolveRef (ctx: OpContext): Promise<{ commit: string; ref?: string }> {
    const ref = this.attrs.ref ?? 'HEAD'
    if (COMMIT_RE.test(ref)) return { commit: ref }
    const out = await this.git(ctx, ['ls-remote', '--', this.attrs.remote, ref, `${ref}^{}`]).catch((err: unknown) => {
      throw new TsbuildError('UNAVAILABLE', `cannot reach git remote ${this.attrs.remote}: ${(err as Error).message}`, { cause: err })
    })
    const refs = new Map<string, string>()
    for (const line of out.split('\n')) {
      const [sha, name] = line.split('\t')
      if (sha !== undefined && name !== undefined) refs.set(name, sha)
    }
    // Same precedence as git's own ref lookup; an annotated tag resolves to its commit (`^{}`).
    for (const candidate of ref === 'HEAD' ? ['HEAD'] : [ref, `refs/tags/${ref}`, `refs/heads/${ref}`]) {
      const sha = refs.get(`${candidate}^{}`) ?? refs.get(candidate)
      if (sha !== undefined) return { commit: sha, ref: candidate }
    }
    throw new TsbuildError('NOT_FOUND', `git ref ${JSON.stringify(ref)} not found in ${this.attrs.remote}`, {
      hint: 'use a branch, a tag or a full 40-character commit SHA',
    })
  }

  /** Make `commit` present in the remote's bare repository (and pinned by a ref); returns the repository path. */
  private async fetchCommit (ctx: OpContext, commit: string, ref: string | undefined): Promise<string> {
    const dir = join(this.deps.stateDir, 'git')
    await mkdir(dir, { recursive: true })
    const bare = join(dir, `${digestHex(sha256(this.attrs.remote)).slice(0, 32)}.git`)
    await withFileLock(`${bare}.lock`, async () => {
      await this.git(ctx, ['init', '-q', '--bare', bare])
      if (await this.hasCommit(ctx, bare, commit)) return
      const pin = `refs/tsbuild/${commit}`
      // Shallow first; dumb-http remotes cannot do shallow, and some servers refuse to serve a bare SHA.
      const attempts: string[][] = ref !== undefined
        ? [['--depth=1', this.attrs.remote, `+${ref}:${pin}`], [this.attrs.remote, `+${ref}:${pin}`]]
        : [['--depth=1', this.attrs.remote, `+${commit}:${pin}`], [this.attrs.remote, '+refs/heads/*:refs/tsbuild-all/heads/*', '+refs/tags/*:refs/tsbuild-all/tags/*']]
      let lastError: unknown
      for (const args of attempts) {
        try {
          await this.git(ctx, ['--git-dir', bare, 'fetch', '-q', '--no-tags', '--', ...args])
          if (await this.hasCommit(ctx, bare, commit)) break
        } catch (err) {
          lastError = err
        }
      }
      if (!(await this.hasCommit(ctx, bare, commit))) {
        throw new TsbuildError('NOT_FOUND', `commit ${commit} not found in ${this.attrs.remote}${ref !== undefined ? ` (${ref} may have moved)` : ''}`, { cause: lastError })
      }
      await this.git(ctx, ['--git-dir', bare, 'update-ref', pin, commit])
    }, { timeoutMs: REPO_LOCK_WAIT_MS, signal: ctx.signal })
    return bare
  }

  private async hasCommit (ctx: OpContext, bare: string, commit: string): Promise<boolean> {
    return await this.git(ctx, ['--git-dir', bare, 'cat-file', '-e', `${commit}^{commit}`]).then(() => true, () => false)
  }

  private env (): NodeJS.ProcessEnv {
    // Never wait on a terminal prompt for credentials in a build.
    return { ...(this.deps.env ?? process.env), GIT_TERMINAL_PROMPT: '0' }
  }

  private async git (ctx: OpContext, args: readonly string[]): Promise<string> {
    return await runGit(this.deps.git ?? 'git', args, this.env(), ctx.signal)
  }
}

async function runGit (bin: string, args: readonly string[], env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<string> {
  return await new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env, signal })
    let out = ''
    let errOut = ''
    child.stdout.on('data', (c: Buffer) => { out += c.toString() })
    child.stderr.on('data', (c: Buffer) => { errOut += c.toString() })
    child.on('error', (err) => {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') reject(new TsbuildError('MISSING_DEPENDENCY', 'git is required for git sources but was not found', { hint: 'apt-get install git' }))
      else if (signal.aborted) reject(new TsbuildError('CANCELLED', 'git was cancelled', { cause: err }))
      else reject(err)
    })
    child.on('close', (code) => code === 0 ? resolve(out) : reject(new Error(`git ${args.join(' ')}: exit ${code}: ${errOut.trim()}`)))
  })
}

async function pipeToTar (bin: string, args: readonly string[], dest: string, env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const archive = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env, signal })
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
