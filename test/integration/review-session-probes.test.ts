// Hostile and careless uses of remote build contexts, key locks and the
// run flags, each pinned after it was found to misbehave.
import { execFile } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { isProcessAlive } from '../../src/common/process.js'
import { digestHex, sha256 } from '../../src/common/digest.js'
import { hasCode } from '../../src/common/errors.js'
import { checkoutGit, gitTools } from '../../src/solver/ops/source/git.js'
import { gitEnv, gitSh as sh } from '../helpers/git.js'
import { ensureBuilt, freshDir, spawnTsbuild, writeContext } from '../helpers/tsbuild.js'

const run = promisify(execFile)

describe('git checkouts', () => {
  let remote = ''
  beforeAll(async () => {
    const dir = await freshDir('tsb-probe-git-')
    await writeContext(join(dir, 'work'), { 'a.txt': 'one\n' })
    await sh(join(dir, 'work'), 'git init -q -b main && git add -A && git commit -q -m one && echo two > a.txt && git commit -q -am two && git clone -q --bare . ../repo.git')
    remote = `file://${dir}/repo.git`
  })

  test.each([['a branch', 'main'], ['the remote HEAD', undefined]])('%s is fetched shallow: one commit, not the whole history', async (_what, ref) => {
    const stateDir = await freshDir('tsb-probe-state-')
    const dest = join(stateDir, 'out')
    await mkdir(dest)
    await checkoutGit({ remote, ...(ref !== undefined ? { ref } : {}), keepGitDir: false, stateDir, dest }, gitTools({ env: gitEnv, signal: new AbortController().signal }))
    expect(await readFile(join(dest, 'a.txt'), 'utf8')).toBe('two\n')
    const [bare] = (await readdir(join(stateDir, 'git'))).filter((n) => n.endsWith('.git'))
    expect(await sh(stateDir, `git --git-dir git/${bare} rev-list --all --count`)).toBe('1')
  })

  test('a checkout cancelled while git fetches is a cancellation, not a missing commit', async () => {
    const stateDir = await freshDir('tsb-probe-state-')
    const dest = join(stateDir, 'out')
    await mkdir(dest)
    // A remote as slow as a big repository on a slow link: every fetch hangs until killed.
    const slowGit = join(stateDir, 'slow-git')
    await writeFile(slowGit, '#!/bin/sh\nfor a in "$@"; do [ "$a" = fetch ] && exec sleep 30; done\nexec git "$@"\n')
    await chmod(slowGit, 0o755)
    const abort = new AbortController()
    setTimeout(() => abort.abort(), 300)
    const err = await checkoutGit({ remote, ref: 'main', keepGitDir: false, stateDir, dest }, gitTools({ git: slowGit, env: gitEnv, signal: abort.signal })).catch((e: unknown) => e)
    expect(hasCode(err, 'CANCELLED')).toBe(true)
    expect(hasCode(err, 'NOT_FOUND')).toBe(false)
  })
})

describe('a build killed while git fetches', () => {
  test('leaves no git (nor a helper of git\'s) running on in the shared bare repository', async () => {
    await ensureBuilt()
    const root = await freshDir('tsb-probe-root-')
    const bin = await freshDir('tsb-probe-bin-')
    const realGit = (await run('sh', ['-c', 'command -v git'])).stdout.trim()
    // The fetch of a big repository, slow enough to be killed in the middle of
    // it, done by a child of git's as git-remote-http does for a dumb-HTTP remote.
    await writeFile(join(bin, 'git'), `#!/bin/sh\nfor a in "$@"; do [ "$a" = fetch ] && { sleep 30 & echo $! > ${bin}/fetch.pid; wait; exit 1; }; done\nexec ${realGit} "$@"\n`)
    await chmod(join(bin, 'git'), 0o755)
    const build = spawnTsbuild(['build', `git://127.0.0.1:1/repo.git#${'a'.repeat(40)}`], { root, env: { PATH: `${bin}:${process.env['PATH'] ?? ''}` } })
    let fetchPid: number | undefined
    for (let i = 0; i < 200 && fetchPid === undefined; i++) {
      fetchPid = await readFile(join(bin, 'fetch.pid'), 'utf8').then((t) => Number(t.trim()), () => undefined)
      if (fetchPid === undefined) await new Promise((resolve) => setTimeout(resolve, 50))
    }
    expect(fetchPid).toBeDefined()
    build.child.kill('SIGKILL')
    await build.done
    let isAlive = true
    for (let i = 0; i < 40 && isAlive; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      isAlive = isProcessAlive(fetchPid!)
    }
    if (isAlive) process.kill(fetchPid!, 'SIGKILL')
    expect(isAlive).toBe(false)
  }, 30_000)
})

describe('a dumb-HTTP git remote', () => {
  let server: Server | undefined
  // A test that failed before starting its server must not leave this hook waiting for one.
  afterAll(async () => { await new Promise<void>((resolve) => { if (server === undefined) resolve(); else server.close(() => resolve()) }) })

  test('a partial pack left by a fetch killed midway does not break the next fetch', async () => {
    const dir = await freshDir('tsb-probe-dumb-')
    await writeContext(join(dir, 'work'), { 'a.txt': 'packed\n' })
    await sh(join(dir, 'work'), 'git init -q -b main && git add -A && git commit -q -m one && git clone -q --bare --no-local . ../repo.git && git -C ../repo.git update-server-info')
    // A static file server that, like python's http.server, ignores Range and always sends the whole file.
    server = createServer((req, res) => {
      readFile(join(dir, new URL(req.url ?? '/', 'http://x').pathname)).then((b) => res.writeHead(200).end(b), () => res.writeHead(404).end())
    })
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
    const remote = `http://127.0.0.1:${(server.address() as AddressInfo).port}/repo.git`
    const stateDir = await freshDir('tsb-probe-state-')
    const bare = join(stateDir, 'git', `${digestHex(sha256(remote)).slice(0, 32)}.git`)
    await mkdir(join(stateDir, 'git'))
    await run('git', ['init', '-q', '--bare', bare])
    const [pack] = (await readdir(join(dir, 'repo.git/objects/pack'))).filter((n) => n.endsWith('.pack'))
    const whole = await readFile(join(dir, 'repo.git/objects/pack', pack!))
    await writeFile(join(bare, 'objects/pack', `${pack!}.temp`), whole.subarray(0, 100))
    const dest = join(stateDir, 'out')
    await mkdir(dest)
    await checkoutGit({ remote, keepGitDir: false, stateDir, dest }, gitTools({ env: gitEnv, signal: new AbortController().signal }))
    expect(await readFile(join(dest, 'a.txt'), 'utf8')).toBe('packed\n')
  })
})
