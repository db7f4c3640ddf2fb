// tsbuild build reading from elsewhere: ADD of an http URL (with --checksum)
// and of a git repository, and --build-context as a directory, a registry
// image and an OCI layout.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { freePort } from '../setup/registry.js'
import { buildOk, ensureBuilt, freshDir, runTsbuild, writeContext } from '../helpers/tsbuild.js'

const run = promisify(execFile)

let busybox: string
beforeAll(async () => {
  busybox = inject('busybox')
  await ensureBuilt()
})

/** Build `dockerfile` (plus context files) with `args`, exported as a local dir; returns that dir. */
async function buildToDir (files: Record<string, string>, ...args: string[]): Promise<string> {
  const ctx = await writeContext(await freshDir('tsb-ctx-'), files)
  const dest = join(await freshDir('tsb-out-'), 'fs')
  await buildOk(['build', ...args, '-o', `type=local,dest=${dest}`, ctx], { root: await freshDir('tsb-root-') })
  return dest
}

describe('ADD from the network', () => {
  const body = 'served over loopback http\n'
  let changing = 'version 1\n'
  const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`
  let server: Server
  let base: string
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/file.txt') res.end(body)
      else if (req.url === '/changing.txt') res.end(changing)
      else { res.statusCode = 404; res.end() }
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  })
  afterAll(async () => { await new Promise((resolve) => server.close(resolve)) })

  test('ADD --checksum of a URL that matches', async () => {
    const dest = await buildToDir({ Dockerfile: `FROM ${busybox}\nADD --checksum=${digest} ${base}/file.txt /fetched.txt\n` })
    expect(await readFile(join(dest, 'fetched.txt'), 'utf8')).toBe(body)
  })

  test('ADD --checksum of a URL that does not match fails naming both digests', async () => {
    const wrong = `sha256:${'0'.repeat(64)}`
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nADD --checksum=${wrong} ${base}/file.txt /fetched.txt\n` })
    const r = await runTsbuild(['build', ctx], { root: await freshDir('tsb-root-') })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(wrong)
    expect(r.stderr).toContain(digest)
  })

  test('ADD of a URL without --checksum fetches the new content after it changes', async () => {
    const root = await freshDir('tsb-root-')
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM scratch\nADD ${base}/changing.txt /changing.txt\n` })
    const out = await freshDir('tsb-out-')
    await buildOk(['build', '-o', `type=local,dest=${join(out, '1')}`, ctx], { root })
    changing = 'version 2\n'
    await buildOk(['build', '-o', `type=local,dest=${join(out, '2')}`, ctx], { root })
    expect(await readFile(join(out, '1/changing.txt'), 'utf8')).toBe('version 1\n')
    expect(await readFile(join(out, '2/changing.txt'), 'utf8')).toBe('version 2\n')
  })

  describe('git', () => {
    let daemon: ChildProcess
    let remote: string
    let work: string
    beforeAll(async () => {
      const repos = await freshDir('tsb-git-')
      const repo = join(repos, 'repo.git')
      work = await writeContext(join(repos, 'work'), { 'README.md': 'from git\n', 'sub/inner.txt': 'inner\n' })
      const git = async (...args: string[]) => await run('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd: work })
      await git('init', '-q', '-b', 'main')
      await git('add', '.')
      await git('commit', '-q', '-m', 'first')
      await run('git', ['clone', '-q', '--bare', work, repo])
      await git('remote', 'add', 'origin', repo)
      const port = await freePort()
      daemon = spawn('git', ['daemon', '--export-all', `--base-path=${repos}`, '--listen=127.0.0.1', `--port=${port}`, '--reuseaddr', repos], { stdio: 'ignore' })
      remote = `git://127.0.0.1:${port}/repo.git`
      const deadline = Date.now() + 10_000
      while (await run('git', ['ls-remote', remote]).then(() => false, () => true)) {
        if (Date.now() > deadline) throw new Error('git daemon did not start')
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    })
    afterAll(() => { daemon?.kill() })

    test('ADD of a git repository served by git daemon', async () => {
      const dest = await buildToDir({ Dockerfile: `FROM ${busybox}\nADD ${remote}#main /src\nADD ${remote}#main:sub /inner\n` })
      expect(await readFile(join(dest, 'src/README.md'), 'utf8')).toBe('from git\n')
      expect(await readFile(join(dest, 'src/sub/inner.txt'), 'utf8')).toBe('inner\n')
      expect(await readFile(join(dest, 'inner/inner.txt'), 'utf8')).toBe('inner\n')
    })

    test('a new commit on the branch is picked up by the next build on the same state dir', async () => {
      const root = await freshDir('tsb-root-')
      const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM scratch\nADD ${remote}#main /src\n` })
      const out = await freshDir('tsb-out-')
      await buildOk(['build', '-o', `type=local,dest=${join(out, '1')}`, ctx], { root })
      await writeContext(work, { 'README.md': 'second commit\n' })
      const git = async (...args: string[]) => await run('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd: work })
      await git('commit', '-q', '-am', 'second')
      await git('push', '-q', 'origin', 'main')
      await buildOk(['build', '-o', `type=local,dest=${join(out, '2')}`, ctx], { root })
      expect(await readFile(join(out, '1/src/README.md'), 'utf8')).toBe('from git\n')
      expect(await readFile(join(out, '2/src/README.md'), 'utf8')).toBe('second commit\n')
    })
  })
})

describe('--build-context', () => {
  test('name=DIR replaces COPY --from=name', async () => {
    const extra = await writeContext(await freshDir('tsb-extra-'), { 'extra.txt': 'from the extra dir\n' })
    const dest = await buildToDir({ Dockerfile: 'FROM scratch\nCOPY --from=extra extra.txt /extra.txt\n' }, '--build-context', `extra=${extra}`)
    expect(await readFile(join(dest, 'extra.txt'), 'utf8')).toBe('from the extra dir\n')
  })

  test('name=docker-image://… replaces FROM name', async () => {
    const dest = await buildToDir({ Dockerfile: 'FROM mybase\nRUN busybox | head -1 > /which\n' }, '--build-context', `mybase=docker-image://${busybox}`)
    expect(await readFile(join(dest, 'which'), 'utf8')).toMatch(/^BusyBox v/)
  })

  test('name=oci-layout://DIR:TAG replaces FROM name with the image in the layout', async () => {
    const layout = join(await freshDir('tsb-layout-'), 'layout')
    const base = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN echo from-layout > /marker\n` })
    await buildOk(['build', '-t', 'layoutbase:v2', '-o', `type=oci,tar=false,dest=${layout}`, base], { root: await freshDir('tsb-root-') })
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ annotations?: Record<string, string> }> }
    expect(index.manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name'])).toContain('v2')
    const dest = await buildToDir({ Dockerfile: 'FROM fromlayout\nRUN cat /marker > /seen\n' }, '--build-context', `fromlayout=oci-layout://${layout}:v2`)
    expect(await readFile(join(dest, 'seen'), 'utf8')).toBe('from-layout\n')
  })

  test('an oci-layout holding two platforms gives each build platform its own image', async () => {
    const layout = join(await freshDir('tsb-layout-'), 'layout')
    const base = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN uname -m > /built-on\n` })
    await buildOk(['build', '--platform', 'linux/amd64,linux/arm64', '-t', 'multi:latest', '-o', `type=oci,tar=false,dest=${layout}`, base], { root: await freshDir('tsb-root-') })
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: 'FROM fromlayout\nRUN cat /built-on > /seen && uname -m >> /seen\n' })
    const dest = join(await freshDir('tsb-out-'), 'fs')
    await buildOk(['build', '--platform', 'linux/amd64,linux/arm64', '--build-context', `fromlayout=oci-layout://${layout}`, '-o', `type=local,dest=${dest}`, ctx], { root: await freshDir('tsb-root-') })
    expect(await readFile(join(dest, 'linux_amd64/seen'), 'utf8')).toBe('x86_64\nx86_64\n')
    expect(await readFile(join(dest, 'linux_arm64/seen'), 'utf8')).toBe('aarch64\naarch64\n')
  })
})
