// `tsbuild build <git URL>` and `tsbuild build <http URL>`: the context is a
// repository (at a branch, tag or commit, optionally a subdir) or a download
// (a tar that is the context, or a plain Dockerfile), as buildx takes them.
// Served from loopback: `git daemon`, a dumb-HTTP git server and a Node http
// server for files.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { access, readFile, readdir } from 'node:fs/promises'
import { createServer as createHttpServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join, normalize } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { freePort } from '../setup/registry.js'
import { gitSh as sh } from '../helpers/git.js'
import { buildOk, cachedSteps, ensureBuilt, freshDir, parseEvents, runTsbuild, writeContext } from '../helpers/tsbuild.js'

const run = promisify(execFile)

let busybox: string
let daemon: ChildProcess
let server: Server
let gitRoot = ''
let work = ''
let gitUrl = ''
let dumbGitUrl = ''
let httpBase = ''
const commits: Record<string, string> = {}
/** Files the http server serves, by path. */
const files = new Map<string, Buffer>()

/** Commit everything in the work tree and publish it to the served bare repository. */
async function publish (message: string): Promise<string> {
  await sh(work, `git add -A && git commit -q -m '${message}' && git push -q origin HEAD:main && git -C ../repo.git update-server-info`)
  return await sh(work, 'git rev-parse HEAD')
}

beforeAll(async () => {
  busybox = inject('busybox')
  await ensureBuilt()
  gitRoot = await freshDir('tsb-remote-git-')
  work = join(gitRoot, 'work')
  await writeContext(work, {
    Dockerfile: `FROM ${busybox}\nCOPY . /ctx/\n`,
    'a.txt': 'one\n',
    'secret.txt': 'ignored\n',
    '.dockerignore': 'secret.txt\n',
    'docker/Dockerfile': `FROM ${busybox}\nCOPY . /sub/\n`,
    'docker/only-in-sub.txt': 'sub\n',
    'ci/alt.Dockerfile': `FROM ${busybox}\nCOPY a.txt /alt.txt\n`,
  })
  await sh(gitRoot, 'git init -q --bare repo.git && git -C repo.git symbolic-ref HEAD refs/heads/main')
  await sh(work, 'git init -q -b main && git remote add origin ../repo.git')
  commits['one'] = await publish('one')
  await sh(work, 'git tag v1 && git push -q origin v1')
  await sh(work, 'echo two > a.txt')
  commits['two'] = await publish('two')
  const port = await freePort()
  daemon = spawn('git', ['daemon', `--base-path=${gitRoot}`, '--export-all', '--reuseaddr', '--listen=127.0.0.1', `--port=${port}`, gitRoot], { stdio: 'ignore' })
  gitUrl = `git://127.0.0.1:${port}/repo.git`
  for (let i = 0; i < 100; i++) {
    if (await run('git', ['ls-remote', gitUrl]).then(() => true, () => false)) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }

  // Static files: the bare repository over dumb HTTP under /git/, and `files` (with a redirect and a Basic-auth one).
  server = createHttpServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    if (path.startsWith('/git/')) {
      const full = normalize(join(gitRoot, decodeURIComponent(path.slice(4))))
      if (!full.startsWith(gitRoot)) { res.writeHead(403).end(); return }
      readFile(full).then((b) => res.writeHead(200).end(b), () => res.writeHead(404).end())
      return
    }
    if (path === '/redirect') { res.writeHead(302, { location: '/ctx.tar.gz' }).end(); return }
    if (path === '/private/Dockerfile' && req.headers.authorization !== `Basic ${Buffer.from('user:s3cret').toString('base64')}`) { res.writeHead(401).end(); return }
    const body = files.get(path)
    if (body === undefined) { res.writeHead(404).end(); return }
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  httpBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  dumbGitUrl = `${httpBase}/git/repo.git`

  const tarCtx = await freshDir('tsb-remote-tar-')
  await writeContext(tarCtx, {
    Dockerfile: `FROM ${busybox}\nCOPY . /ctx/\n`,
    'b.txt': 'from the tarball\n',
    'ci/alt.Dockerfile': `FROM ${busybox}\nCOPY b.txt /alt.txt\n`,
  })
  files.set('/ctx.tar.gz', execFileSync('tar', ['-C', tarCtx, '-cz', '.']))
  files.set('/Dockerfile', Buffer.from(`FROM ${busybox}\nRUN echo from a URL > /note\n`))
  files.set('/private/Dockerfile', Buffer.from(`FROM ${busybox}\nRUN echo authorized > /note\n`))
}, 180_000)

afterAll(async () => {
  daemon?.kill()
  await new Promise((resolve) => server?.close(resolve))
})

async function exists (path: string): Promise<boolean> {
  return await access(path).then(() => true, () => false)
}

/** Build `context` into a fresh local dir; returns that dir. */
async function buildTo (context: string, extra: string[] = [], root?: string): Promise<string> {
  const out = await freshDir('tsb-remote-out-')
  await buildOk(['build', '--progress=plain', ...extra, '-o', `type=local,dest=${out}`, context], { root: root ?? await freshDir('tsb-remote-root-') })
  return out
}

describe('git contexts', () => {
  test.each([
    ['a branch', '#main', 'two\n'],
    ['a tag', '#v1', 'one\n'],
    ['a commit', () => `#${commits['one']}`, 'one\n'],
    ['no ref (HEAD)', '', 'two\n'],
    ['the query form', '?ref=v1', 'one\n'],
  ])('%s: the checkout is the context, .dockerignore applies, no .git', async (_what, fragment, want) => {
    const frag = typeof fragment === 'function' ? fragment() : fragment
    const root = await freshDir('tsb-remote-root-')
    const out = await buildTo(`${gitUrl}${frag}`, [], root)
    expect(await readFile(join(out, 'ctx/a.txt'), 'utf8')).toBe(want)
    expect((await readdir(join(out, 'ctx'))).sort()).toEqual(['.dockerignore', 'Dockerfile', 'a.txt', 'ci', 'docker'])
    expect((await readdir(join(root, 'tmp'))).filter((n) => n.includes('-context-'))).toEqual([])
  })

  test.each([
    ['#main:docker'],
    ['?ref=main&subdir=docker'],
  ])('a subdir (%s) is the context root and holds the Dockerfile', async (suffix) => {
    const out = await buildTo(`${gitUrl}${suffix}`)
    expect((await readdir(join(out, 'sub'))).sort()).toEqual(['Dockerfile', 'only-in-sub.txt'])
  })

  test('BUILDKIT_CONTEXT_KEEP_GIT_DIR=1 keeps the .git dir at the checked-out commit', async () => {
    const out = await buildTo(`${gitUrl}#v1`, ['--build-arg', 'BUILDKIT_CONTEXT_KEEP_GIT_DIR=1'])
    expect(await exists(join(out, 'ctx/.git/HEAD'))).toBe(true)
    expect(execFileSync('git', ['--git-dir', join(out, 'ctx/.git'), 'rev-parse', 'HEAD']).toString().trim()).toBe(commits['one'])
  })

  test('-f is relative to the repository; -f - takes the Dockerfile from stdin', async () => {
    const out = await buildTo(`${gitUrl}#main`, ['-f', 'ci/alt.Dockerfile'])
    expect(await readFile(join(out, 'alt.txt'), 'utf8')).toBe('two\n')
    const root = await freshDir('tsb-remote-root-')
    const out2 = await freshDir('tsb-remote-out-')
    await buildOk(['build', '-f', '-', '-o', `type=local,dest=${out2}`, `${gitUrl}#v1`], { root, input: `FROM ${busybox}\nCOPY a.txt /from-stdin.txt\n` })
    expect(await readFile(join(out2, 'from-stdin.txt'), 'utf8')).toBe('one\n')
  })

  test('a rebuild after a new commit on the branch sees it; the history names the URL', async () => {
    const root = await freshDir('tsb-remote-root-')
    expect(await readFile(join(await buildTo(`${gitUrl}#main`, [], root), 'ctx/a.txt'), 'utf8')).toBe('two\n')
    await sh(work, 'echo three > a.txt')
    commits['three'] = await publish('three')
    expect(await readFile(join(await buildTo(`${gitUrl}#main`, [], root), 'ctx/a.txt'), 'utf8')).toBe('three\n')
    const inspect = await buildOk(['history', 'inspect', '^1', '--format', 'json'], { root })
    expect(inspect.stdout).toContain(`"context": "${gitUrl}#main"`)
  })

  test('a rebuild of the same commit is cached, though each checkout is a new temp dir', async () => {
    const root = await freshDir('tsb-remote-root-')
    await buildTo(`${gitUrl}#v1`, [], root)
    const r = await buildOk(['build', '--progress=rawjson', `${gitUrl}#v1`], { root })
    expect(cachedSteps(parseEvents(r.stderr))).toContainEqual(expect.stringContaining('COPY . /ctx/'))
  })

  test('a rebuild after a new commit explains its misses against the last build of that URL, not as a first build', async () => {
    const root = await freshDir('tsb-remote-root-')
    await buildOk(['build', '--progress=rawjson', `${gitUrl}#main`], { root })
    await sh(work, 'echo four > a.txt')
    commits['four'] = await publish('four')
    const r = await buildOk(['build', '--progress=rawjson', `${gitUrl}#main`], { root })
    const reasons = parseEvents(r.stderr).flatMap((e) => e.type === 'vertex' && e.status === 'started' && e.missReason !== undefined ? [`${e.name}: ${e.missReason}`] : [])
    expect(reasons).toContainEqual(expect.stringMatching(/COPY \. \/ctx\/: files changed under COPY \.: a\.txt$/))
    expect(reasons.join('\n')).not.toContain('first build')
  })

  test('a dumb-HTTP remote (http://…/repo.git) is git, not a download', async () => {
    const out = await buildTo(`${dumbGitUrl}#v1`)
    expect(await readFile(join(out, 'ctx/a.txt'), 'utf8')).toBe('one\n')
  })

  test.each([
    ['a missing ref', () => `${gitUrl}#nope`, /^ERROR: git ref "nope" not found in git:\/\/127\.0\.0\.1:\d+\/repo\.git\n/m],
    ['a missing subdir', () => `${gitUrl}#main:nope`, /^ERROR: subdirectory "nope" not found in git:\/\/127\.0\.0\.1:\d+\/repo\.git at [0-9a-f]{40}\n/m],
    ['an unreachable host', () => 'git://127.0.0.1:1/repo.git', /^ERROR: cannot reach git remote git:\/\/127\.0\.0\.1:1\/repo\.git: fatal: unable to connect[^\n]*Connection refused\n/m],
    ['a commit the query pins that the ref is not', () => `${gitUrl}?ref=v1&checksum=${commits['two']}`, /^ERROR: git:\/\/.*repo\.git at v1 is commit [0-9a-f]{40}, expected [0-9a-f]{40}\n/m],
    ['a Dockerfile missing from the repository', () => `${gitUrl}#main:ci`, /^ERROR: the git context git:\/\/.*#main:ci has no Dockerfile\n/m],
  ])('%s is a one-screen error naming the URL', async (_what, url, message) => {
    const root = await freshDir('tsb-remote-root-')
    const r = await runTsbuild(['build', url()], { root })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^loading the build context from git:\/\/127\.0\.0\.1:\d+\/repo\.git/)
    expect(r.stderr).toMatch(message)
    expect(r.stderr).not.toMatch(/\n\s+at /)
    expect((await readdir(join(root, 'tmp'))).filter((n) => n.includes('-context-'))).toEqual([])
  })
})

describe('URL contexts', () => {
  test('a .tar.gz is the context (also through a redirect); -f is relative to its root', async () => {
    const out = await buildTo(`${httpBase}/ctx.tar.gz`)
    expect(await readFile(join(out, 'ctx/b.txt'), 'utf8')).toBe('from the tarball\n')
    const out2 = await buildTo(`${httpBase}/redirect`, ['-f', 'ci/alt.Dockerfile'])
    expect(await readFile(join(out2, 'alt.txt'), 'utf8')).toBe('from the tarball\n')
  })

  test('a plain file is the Dockerfile, with an empty context; credentials in the URL are sent and masked', async () => {
    const out = await buildTo(`${httpBase}/Dockerfile`)
    expect(await readFile(join(out, 'note'), 'utf8')).toBe('from a URL\n')
    const root = await freshDir('tsb-remote-root-')
    const url = `${httpBase.replace('http://', 'http://user:s3cret@')}/private/Dockerfile`
    const out2 = await buildTo(url, [], root)
    expect(await readFile(join(out2, 'note'), 'utf8')).toBe('authorized\n')
    const inspect = await buildOk(['history', 'inspect', '^1', '--format', 'json'], { root })
    expect(inspect.stdout).toContain(`"context": "${httpBase.replace('http://', 'http://user:xxxxx@')}/private/Dockerfile"`)
    expect(inspect.stdout).not.toContain('s3cret')
  })

  test.each([
    ['a 404', '/missing.tar.gz', '', /^ERROR: cannot download the build context http:\/\/127\.0\.0\.1:\d+\/missing\.tar\.gz: HTTP 404 Not Found\n/m],
    ['a 401, credentials masked', '/private/Dockerfile', 'user:wrong@', /^ERROR: cannot download the build context http:\/\/user:xxxxx@127\.0\.0\.1:\d+\/private\/Dockerfile: HTTP 401 Unauthorized\n/m],
  ])('%s is a one-screen error naming the URL', async (_what, path, creds, message) => {
    const r = await runTsbuild(['build', `${httpBase.replace('http://', `http://${creds}`)}${path}`], { root: await freshDir('tsb-remote-root-') })
    expect(r.code).toBe(1)
    expect(r.stderr.split('\n')[0]).toMatch(/^loading the build context from http:\/\/(user:xxxxx@)?127\.0\.0\.1:\d+\//)
    expect(r.stderr).toMatch(message)
    expect(r.stderr).not.toContain('wrong')
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })

  test('a host that refuses the connection is a one-screen error', async () => {
    const port = await freePort()
    const r = await runTsbuild(['build', `http://127.0.0.1:${port}/ctx.tar`], { root: await freshDir('tsb-remote-root-') })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(new RegExp(`^ERROR: cannot download the build context http://127\\.0\\.0\\.1:${port}/ctx\\.tar: .*ECONNREFUSED`, 'm'))
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })
})
