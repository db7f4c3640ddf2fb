import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { lstat, mkdtemp, readdir, readFile } from 'node:fs/promises'
import { createServer as createHttpServer, type Server } from 'node:http'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, normalize } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { Snapshotter, snapshotName } from '../../src/cache/snapshots/index.js'
import type { Digest } from '../../src/common/digest.js'
import { hasCode } from '../../src/common/errors.js'
import type { GitSourceAttrs } from '../../src/llb/index.js'
import { GitSource } from '../../src/solver/ops/source/git.js'
import type { OpContext } from '../../src/solver/scheduler/types.js'

const run = promisify(execFile)
const isRoot = process.getuid?.() === 0
const ctx = (): OpContext => ({ signal: new AbortController().signal, emit: () => {}, vertex: `sha256:${createHash('sha256').update('v').digest('hex')}` as Digest })
const gitEnv = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com', HOME: tmpdir(), PATH: process.env['PATH'] ?? '' }

let daemon: ChildProcess
let httpServer: Server
let gitUrl = ''
let httpUrl = ''
const commits: Record<string, string> = {}

async function sh (cwd: string, script: string): Promise<string> {
  return (await run('sh', ['-ec', script], { cwd, env: gitEnv })).stdout.trim()
}

async function freePort (): Promise<number> {
  const s = createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const port = (s.address() as AddressInfo).port
  await new Promise((resolve) => s.close(resolve))
  return port
}

beforeAll(async () => {
  const root = await mkdtemp(join(tmpdir(), 'tsbuild-gitremote-'))
  const work = join(root, 'work')
  await sh(root, `git init -q -b main work && cd work && mkdir -p app/bin && echo one > README && echo app > app/main.txt &&
    printf '#!/bin/sh\\necho hi\\n' > app/bin/run && chmod 755 app/bin/run && ln -s main.txt app/link &&
    git add -A && git commit -q -m one && git tag v1 && git tag -a -m annotated v1-annotated`)
  commits['one'] = await sh(work, 'git rev-parse HEAD')
  await sh(work, 'git checkout -q -b feature && echo feature > FEATURE && git add -A && git commit -q -m feature')
  commits['feature'] = await sh(work, 'git rev-parse HEAD')
  await sh(work, 'git checkout -q main && echo two > README && git add -A && git commit -q -m two')
  commits['two'] = await sh(work, 'git rev-parse HEAD')
  await sh(root, 'git clone -q --bare work repo.git && git -C repo.git update-server-info')
  const port = await freePort()
  daemon = spawn('git', ['daemon', `--base-path=${root}`, '--export-all', '--reuseaddr', '--listen=127.0.0.1', `--port=${port}`, root], { stdio: 'ignore' })
  gitUrl = `git://127.0.0.1:${port}/repo.git`
  for (let i = 0; i < 100; i++) {
    if (await run('git', ['ls-remote', gitUrl]).then(() => true, () => false)) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  // A dumb-protocol server: static files only.
  httpServer = createHttpServer((req, res) => {
    const path = normalize(join(root, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)))
    if (!path.startsWith(root)) { res.writeHead(403).end(); return }
    readFile(path).then((b) => res.writeHead(200).end(b), () => res.writeHead(404).end())
  })
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve))
  httpUrl = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}/repo.git`
})

afterAll(async () => {
  daemon?.kill()
  await new Promise((resolve) => httpServer?.close(resolve))
})

async function setup (): Promise<{ snapshotter: Snapshotter; stateDir: string; source: (a: Partial<GitSourceAttrs>) => GitSource }> {
  const stateDir = await mkdtemp(join(tmpdir(), 'tsbuild-git-'))
  const snapshotter = new Snapshotter(stateDir, 'copy')
  return { snapshotter, stateDir, source: (a) => new GitSource({ type: 'git', remote: gitUrl, keepGitDir: false, ...a }, { snapshotter, stateDir, env: gitEnv }) }
}

async function checkout (snapshotter: Snapshotter, op: GitSource): Promise<string> {
  const { layers } = await op.exec(ctx())
  const info = await snapshotter.stat(snapshotName(layers?.[0] ?? ''))
  if (info === undefined) throw new Error('no snapshot')
  return info.diffPath
}

async function tree (dir: string, rel = ''): Promise<string[]> {
  const out: string[] = []
  for (const name of (await readdir(join(dir, rel))).sort()) {
    const p = rel === '' ? name : `${rel}/${name}`
    out.push(p)
    if ((await lstat(join(dir, p))).isDirectory() && name !== '.git') out.push(...await tree(dir, p))
  }
  return out
}

describe.skipIf(!isRoot)('git source (root: checkouts keep owners)', () => {
  test.each([
    ['a branch', 'main', 'two'],
    ['another branch', 'feature', 'feature'],
    ['a lightweight tag', 'v1', 'one'],
    ['an annotated tag (resolved to its commit)', 'v1-annotated', 'one'],
    ['no ref (HEAD)', undefined, 'two'],
  ])('%s resolves to its commit for the cache key', async (_what, ref, want) => {
    const { source } = await setup()
    const cm = await source(ref === undefined ? {} : { ref }).cacheMap(ctx())
    expect(cm.explain?.['commit']).toBe(commits[want])
  })

  test('checkout of a branch: files, modes and links; no .git', async () => {
    const { snapshotter, source } = await setup()
    const dir = await checkout(snapshotter, source({ ref: 'main' }))
    expect(await tree(dir)).toEqual(['README', 'app', 'app/bin', 'app/bin/run', 'app/link', 'app/main.txt'])
    expect(await readFile(join(dir, 'README'), 'utf8')).toBe('two\n')
    expect((await lstat(join(dir, 'app/bin/run'))).mode & 0o777).toBe(0o755)
    expect((await lstat(join(dir, 'app/link'))).isSymbolicLink()).toBe(true)
  })

  test('a commit SHA needs no network for the key and checks out that commit', async () => {
    const { snapshotter, source } = await setup()
    const op = new GitSource({ type: 'git', remote: 'git://127.0.0.1:1/unreachable.git', ref: commits['one']!, keepGitDir: false }, { snapshotter, stateDir: '/nonexistent', env: gitEnv })
    expect((await op.cacheMap(ctx())).explain?.['commit']).toBe(commits['one'])
    const dir = await checkout(snapshotter, source({ ref: commits['one']! }))
    expect(await readFile(join(dir, 'README'), 'utf8')).toBe('one\n')
  })

  test('subdir becomes the root', async () => {
    const { snapshotter, source } = await setup()
    const dir = await checkout(snapshotter, source({ ref: 'v1', subdir: 'app' }))
    expect(await tree(dir)).toEqual(['bin', 'bin/run', 'link', 'main.txt'])
  })

  test('keepGitDir keeps a working .git at the commit with origin set', async () => {
    const { snapshotter, source } = await setup()
    const dir = await checkout(snapshotter, source({ ref: 'feature', keepGitDir: true }))
    expect(await tree(dir)).toContain('.git')
    expect(await readFile(join(dir, 'FEATURE'), 'utf8')).toBe('feature\n')
    expect(await sh(dir, 'git rev-parse HEAD')).toBe(commits['feature'])
    expect(await sh(dir, 'git remote get-url origin')).toBe(gitUrl)
    expect(await sh(dir, 'git status --porcelain')).toBe('')
  })

  test('keys differ by commit, subdir and keepGitDir, and are stable', async () => {
    const { source } = await setup()
    const key = async (a: Partial<GitSourceAttrs>): Promise<string> => (await source(a).cacheMap(ctx())).digest
    const keys = await Promise.all([key({ ref: 'main' }), key({ ref: 'main', subdir: 'app' }), key({ ref: 'main', keepGitDir: true }), key({ ref: 'v1' })])
    expect(new Set(keys).size).toBe(4)
    expect(await key({ ref: 'main' })).toBe(keys[0])
  })

  test.each([
    ['an unknown ref', { ref: 'no-such-branch' }, /git ref "no-such-branch" not found in git:\/\//],
    ['an unknown commit', { ref: 'f'.repeat(40) }, /commit f{40} not found/],
    ['a missing subdir', { ref: 'main', subdir: 'nope' }, /subdirectory "nope" not found/],
  ])('%s fails with NOT_FOUND', async (_what, attrs, message) => {
    const { source } = await setup()
    const op = source(attrs)
    const err = await op.cacheMap(ctx()).then(async () => await op.exec(ctx())).catch((e: unknown) => e)
    expect(hasCode(err, 'NOT_FOUND')).toBe(true)
    expect((err as Error).message).toMatch(message)
  })

  test('an unreachable remote is UNAVAILABLE naming the remote', async () => {
    const { source } = await setup()
    const err = await source({ remote: 'git://127.0.0.1:1/x.git', ref: 'main' }).cacheMap(ctx()).catch((e: unknown) => e)
    expect(hasCode(err, 'UNAVAILABLE')).toBe(true)
    expect((err as Error).message).toContain('git://127.0.0.1:1/x.git')
  })

  test('over dumb http (no shallow support): branch and commit', async () => {
    const { snapshotter, source } = await setup()
    const dir = await checkout(snapshotter, source({ remote: httpUrl, ref: 'feature' }))
    expect(await readFile(join(dir, 'FEATURE'), 'utf8')).toBe('feature\n')
    const old = await checkout(snapshotter, source({ remote: httpUrl, ref: commits['one']! }))
    expect(await readFile(join(old, 'README'), 'utf8')).toBe('one\n')
  })

  test('concurrent builds on one state dir share the bare repository and agree', async () => {
    const { snapshotter, source } = await setup()
    const results = await Promise.all(['main', 'feature', 'v1', 'main'].map(async (ref) => (await source({ ref }).exec(ctx())).layers?.[0]))
    expect(results[0]).toBe(results[3])
    expect(new Set(results).size).toBe(3)
    expect(await readdir(join(snapshotter.root, '..', 'git'))).toEqual([expect.stringMatching(/^[0-9a-f]{32}\.git$/)]) // one repo, lock released
  })
})
