// The build history of real builds: complete logs however long, ls/inspect/logs, no secret values kept.
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { main } from '../../src/cli/main.js'

interface CliResult { code: number; stdout: string; stderr: string }

async function tsbuild (root: string, cwd: string, env: Record<string, string>, ...argv: string[]): Promise<CliResult> {
  return await tsbuildWith({ root, cwd, env }, ...argv)
}

async function tsbuildWith (o: { root: string; cwd: string; env: Record<string, string>; signal?: AbortSignal; onStderr?: (text: string) => void }, ...argv: string[]): Promise<CliResult> {
  const { root, cwd, env } = o
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.setEncoding('utf8').on('data', (c: string) => { out += c })
  stderr.setEncoding('utf8').on('data', (c: string) => { err += c; o.onStderr?.(err) })
  const code = await main(argv, { stdin: new PassThrough(), stdout, stderr, env: { TSBUILD_ROOT: root, PATH: process.env.PATH, ...env }, cwd, ...(o.signal !== undefined ? { signal: o.signal } : {}) })
  return { code, stdout: out, stderr: err }
}

const isRoot = process.getuid?.() === 0
let work: string
let busybox: string

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tsbuild-history-'))
  busybox = inject('busybox')
})
afterAll(async () => { await rm(work, { recursive: true, force: true }) })

async function allFiles (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(join(e.parentPath, e.name))
  return out
}

describe.skipIf(!isRoot)('tsbuild history (RUN needs root for runc)', () => {
  let root: string
  let ctx: string
  const SECRET = 'hunter2-never-stored'

  beforeAll(async () => {
    root = await mkdtemp(join(work, 'root-'))
    ctx = await mkdtemp(join(work, 'ctx-'))
    await writeFile(join(ctx, 'Dockerfile'), [
      `FROM ${busybox}`,
      'RUN --mount=type=secret,id=tok test "$(cat /run/secrets/tok)" = "$EXPECTED" && echo secret-ok',
      'RUN i=1; while [ $i -le 3000 ]; do echo "long output line $i"; i=$((i+1)); done',
      '',
    ].join('\n'))
    const ok = await tsbuild(root, ctx, { TOKEN: SECRET }, 'build', '--progress=plain', '--secret', 'id=tok,env=TOKEN', '--build-arg', 'EXPECTED=x', '-t', 'hist-app', '.')
    // The secret check fails on purpose (EXPECTED differs): a failed build is recorded too.
    expect(ok.code).toBe(1)
    await writeFile(join(ctx, 'Dockerfile'), [
      `FROM ${busybox}`,
      'RUN --mount=type=secret,id=tok test -s /run/secrets/tok && echo secret-ok',
      'RUN i=1; while [ $i -le 3000 ]; do echo "long output line $i"; i=$((i+1)); done',
      '',
    ].join('\n'))
    const second = await tsbuild(root, ctx, { TOKEN: SECRET }, 'build', '--progress=plain', '--secret', 'id=tok,env=TOKEN', '-t', 'hist-app', '.')
    expect(second.code, second.stderr).toBe(0)
  })

  test('ls lists both builds, newest first, with status, duration and steps', async () => {
    const r = await tsbuild(root, ctx, {}, 'history', 'ls')
    expect(r.code).toBe(0)
    const [header, newest, older, ...rest] = r.stdout.trimEnd().split('\n')
    expect(header).toMatch(/^BUILD ID\s+NAME\s+STATUS\s+CREATED\s+DURATION\s+STEPS$/)
    expect(newest).toMatch(/^[a-z0-9]{25}\s+hist-app\s+COMPLETED\s+\d+ seconds? ago\s+\d+\.\ds\s+\d+/)
    expect(older).toMatch(/^[a-z0-9]{25}\s+hist-app\s+FAILED\s/)
    expect(rest).toEqual([])
  })

  test('logs of one step are complete: all 3000 lines, though the live views clip', async () => {
    const record = JSON.parse((await tsbuild(root, ctx, {}, 'history', 'inspect', '^1', '--format', 'json')).stdout) as { id: string; steps: Array<{ number: number; name: string; digest?: string }> }
    const step = record.steps.find((s) => s.name.startsWith('[3/3] RUN i=1'))!
    const byNumber = await tsbuild(root, ctx, {}, 'history', 'logs', '^1', String(step.number))
    expect(byNumber.stdout).toBe(Array.from({ length: 3000 }, (_, i) => `long output line ${i + 1}\n`).join(''))
    const byDigest = await tsbuild(root, ctx, {}, 'history', 'logs', record.id.slice(0, 6), step.digest!.slice(7, 19))
    expect(byDigest.stdout).toBe(byNumber.stdout)
  })

  test('logs of the failed build show each step in plain form with its error', async () => {
    const r = await tsbuild(root, ctx, {}, 'history', 'logs', '^2')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^#\d+ \[2\/3\] RUN --mount=type=secret,id=tok test .*\n#\d+ ERROR: process .* exit code: 1$/m)
  })

  test('inspect shows the request, result and steps; no secret value is anywhere in the history', async () => {
    const r = await tsbuild(root, ctx, {}, 'history', 'inspect', '^1')
    expect(r.stdout).toMatch(/^Status: +COMPLETED$/m)
    expect(r.stdout).toMatch(/^Secrets: +tok$/m)
    expect(r.stdout).toMatch(/^Digest: +sha256:[a-f0-9]{64}$/m)
    expect(r.stdout).toMatch(/^#\d+ +COMPLETED .*\[3\/3\] RUN i=1/m)
    for (const f of await allFiles(join(root, 'history'))) expect(await readFile(f, 'utf8'), f).not.toContain(SECRET)
  })

  test.each([
    [['history', 'inspect', '^9'], 1, /no build \^9/],
    [['history', 'logs', '^1', '999'], 1, /has no step "999"/],
    [['history', 'frob'], 2, /unknown history command/],
  ])('%j fails with exit %i', async (argv, code, message) => {
    const r = await tsbuild(root, ctx, {}, ...argv)
    expect(r.code).toBe(code)
    expect(r.stderr).toMatch(message)
  })
})

describe.skipIf(!isRoot)('a cancelled build (RUN needs root for runc)', () => {
  test('exits 130 and is recorded as cancelled with the output it had', async () => {
    const root = await mkdtemp(join(work, 'root-'))
    const ctx = await mkdtemp(join(work, 'ctx-'))
    await writeFile(join(ctx, 'Dockerfile'), `FROM ${busybox}\nRUN echo started-sleeping; sleep 60\n`)
    const ac = new AbortController()
    const t0 = Date.now()
    const r = await tsbuildWith({ root, cwd: ctx, env: {}, signal: ac.signal, onStderr: (text) => { if (/^#\d+ \d+\.\d{3} started-sleeping$/m.test(text)) ac.abort(new Error('interrupted by SIGINT')) } }, 'build', '--progress=plain', '.')
    expect(r.code, r.stderr).toBe(130)
    expect(Date.now() - t0).toBeLessThan(30_000)
    expect(r.stderr).toMatch(/^#\d+ CANCELED$/m)
    const record = JSON.parse((await tsbuild(root, ctx, {}, 'history', 'inspect', '^1', '--format', 'json')).stdout) as { status: string; steps: Array<{ number: number; name: string; status: string }> }
    expect(record.status).toBe('cancelled')
    const step = record.steps.find((s) => s.name.includes('RUN echo started-sleeping'))!
    expect(step.status).toBe('cancelled')
    expect((await tsbuild(root, ctx, {}, 'history', 'logs', '^1', String(step.number))).stdout).toBe('started-sleeping\n')
  })
})
