// Progress output of real builds, captured as a user sees it: plain and
// rawjson on pipes, tty through a pseudo-terminal (util-linux `script`).
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { runMain, type CliResult } from '../helpers/inProcess.js'

const run = promisify(execFile)
const REPO = resolve(import.meta.dirname, '../..')
const isRoot = process.getuid?.() === 0

async function tsbuild (root: string, cwd: string, ...argv: string[]): Promise<CliResult> {
  return await runMain(argv, { env: { TSBUILD_ROOT: root, PATH: process.env.PATH }, cwd })
}

let work: string
let busybox: string

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tsbuild-progress-'))
  busybox = inject('busybox')
})
afterAll(async () => { await rm(work, { recursive: true, force: true }) })

/** A fresh state dir and a context dir holding `dockerfile`. */
async function project (dockerfile: string): Promise<{ root: string; ctx: string }> {
  const root = await mkdtemp(join(work, 'root-'))
  const ctx = await mkdtemp(join(work, 'ctx-'))
  await writeFile(join(ctx, 'Dockerfile'), dockerfile)
  return { root, ctx }
}

describe.skipIf(!isRoot)('progress of real builds (RUN needs root for runc)', () => {
  test('plain: BuildKit blocks with timed output lines, then CACHED on a rebuild', async () => {
    const { root, ctx } = await project(`FROM ${busybox}\nRUN echo hello && echo to-stderr >&2\nRUN echo second\n`)
    const first = await tsbuild(root, ctx, 'build', '--progress=plain', '-t', 'app', '.')
    expect(first.code, first.stderr).toBe(0)
    const hello = /^#(\d+) \[2\/3\] RUN echo hello && echo to-stderr >&2$/m.exec(first.stderr)
    expect(hello).not.toBeNull()
    const n = hello![1]
    expect(first.stderr).toMatch(new RegExp(`^#${n} \\d+\\.\\d{3} hello$`, 'm'))
    expect(first.stderr).toMatch(new RegExp(`^#${n} \\d+\\.\\d{3} to-stderr$`, 'm'))
    expect(first.stderr).toMatch(new RegExp(`^#${n} DONE \\d+\\.\\ds$`, 'm'))
    expect(first.stderr).toMatch(/^#\d+ exporting to image\n#\d+ DONE \d+\.\ds$/m)
    expect(first.stdout).toBe('')

    const again = await tsbuild(root, ctx, 'build', '--progress=plain', '-t', 'app', '.')
    expect(again.code).toBe(0)
    expect(again.stderr).toMatch(/^#(\d+) \[3\/3\] RUN echo second\n#\1 CACHED$/m)
    expect(again.stderr).not.toMatch(/ hello$/m)
  })

  test('plain: a fully cached rebuild prints its steps in step order, as the history numbers them', async () => {
    const { root, ctx } = await project(`FROM ${busybox}\nRUN echo one > /one\nRUN echo two > /two\nRUN echo three > /three\n`)
    expect((await tsbuild(root, ctx, 'build', '--progress=plain', '-t', 'ordered', '.')).code).toBe(0)
    const r = await tsbuild(root, ctx, 'build', '--progress=plain', '-t', 'ordered', '.')
    expect(r.code, r.stderr).toBe(0)
    const headers = [...r.stderr.matchAll(/^#(\d+) \[(\d)\/4\] .*\n#\1 CACHED$/gm)].map((m) => ({ n: Number(m[1]), step: Number(m[2]) }))
    expect(headers.map((h) => h.step)).toEqual([1, 2, 3, 4])
    expect(headers.map((h) => h.n)).toEqual([...headers.map((h) => h.n)].sort((a, b) => a - b))
    const hist = JSON.parse((await tsbuild(root, ctx, 'history', 'inspect', '^1', '--format', 'json')).stdout) as { steps: Array<{ number: number; name: string }> }
    for (const h of headers) expect(hist.steps.find((s) => s.number === h.n)?.name).toMatch(new RegExp(`^\\[${h.step}/4\\]`))
  })

  test('plain: a partly cached rebuild lists the cached steps below a hit (FROM first) before the steps that run', async () => {
    const { root, ctx } = await project(`FROM ${busybox}\nRUN echo one > /one\nRUN echo two > /two\nCOPY f.txt /f\nRUN cat /f\n`)
    await writeFile(join(ctx, 'f.txt'), '1\n')
    expect((await tsbuild(root, ctx, 'build', '--progress=plain', '.')).code).toBe(0)
    await writeFile(join(ctx, 'f.txt'), '2\n')
    const r = await tsbuild(root, ctx, 'build', '--progress=plain', '.')
    expect(r.code, r.stderr).toBe(0)
    const steps = [...r.stderr.matchAll(/^#\d+ \[(\d)\/5\] /gm)].map((m) => Number(m[1]))
    expect(steps).toEqual([1, 2, 3, 4, 5])
  })

  test('plain: parallel stages interleave as BuildKit prints them, every block readable on its own', async () => {
    const stage = (name: string): string => `FROM ${busybox} AS ${name}\nRUN for i in 1 2 3 4 5; do echo ${name}-$i; sleep 0.2; done > /dev/stderr; echo ${name} > /${name}\n`
    const { root, ctx } = await project(`${stage('left')}${stage('right')}FROM ${busybox}\nCOPY --from=left /left /\nCOPY --from=right /right /\n`)
    const r = await tsbuild(root, ctx, 'build', '--progress=plain', '-t', 'app', '.')
    expect(r.code, r.stderr).toBe(0)
    const blocks = r.stderr.trim().split('\n\n').filter((b) => b.startsWith('#')).map((b) => b.split('\n').filter((l) => l.startsWith('#')))
    for (const b of blocks) {
      const n = /^#(\d+) /.exec(b[0]!)![1]
      for (const line of b) expect(line.startsWith(`#${n} `), b.join('\n')).toBe(true)
      expect(b.at(-1)!, b.join('\n')).toMatch(/ (DONE \d+\.\ds|CACHED|\.\.\.)$/)
    }
    // Both RUN steps were in flight at once, so at least one block was left unfinished and re-entered.
    const paused = blocks.filter((b) => b.at(-1)!.endsWith(' ...'))
    expect(paused.length).toBeGreaterThan(0)
    for (const b of paused) expect(blocks.filter((o) => o[0] === b[0]).length).toBeGreaterThan(1)
    for (const name of ['left', 'right']) {
      const lines = r.stderr.split('\n').filter((l) => new RegExp(`^#\\d+ \\d+\\.\\d{3} ${name}-\\d$`).test(l))
      expect(lines.map((l) => l.split(' ').at(-1))).toEqual([1, 2, 3, 4, 5].map((i) => `${name}-${i}`))
    }
  })

  test('rawjson: every line is an event valid against docs/progress.schema.json; logs are base64', async () => {
    const { root, ctx } = await project(`FROM ${busybox}\nRUN printf 'caf\\303\\251\\n'\n`)
    const r = await tsbuild(root, ctx, 'build', '--progress=rawjson', '-t', 'app', '.')
    expect(r.code, r.stderr).toBe(0)
    const schema = JSON.parse(await readFile(join(REPO, 'docs/progress.schema.json'), 'utf8')) as object
    const validate = new Ajv2020({ strict: true, allErrors: true }).compile(schema)
    const lines = r.stderr.trimEnd().split('\n').filter((l) => l.startsWith('{'))
    const tail = r.stderr.trimEnd().split('\n').filter((l) => !l.startsWith('{'))
    expect(tail).toEqual([]) // the result lines of the other modes are events here
    const events = lines.map((l) => JSON.parse(l) as Record<string, unknown>)
    for (const e of events) expect(validate(e), JSON.stringify(validate.errors)).toBe(true)
    const logs = events.filter((e) => e.type === 'log').map((e) => Buffer.from(e.data as string, 'base64').toString('utf8')).join('')
    expect(logs).toContain('café\n')
    expect(events.filter((e) => e.type === 'vertex' && e.status === 'started').every((e) => typeof e.missReason === 'string')).toBe(true)
    expect(events.some((e) => e.type === 'vertex' && e.status === 'completed')).toBe(true)
    // The base image is pulled into the empty state dir: its layers report byte progress.
    const pulls = events.filter((e) => e.type === 'progress' && String(e.id).startsWith('pull-sha256:'))
    expect(pulls.some((e) => e.done === true && e.current === e.total && (e.total as number) > 0)).toBe(true)
  })

  test('--metadata-file names an image that -t sends only into an oci or docker archive, fully qualified as BuildKit reports it', async () => {
    const { root, ctx } = await project(`FROM ${busybox}\nRUN echo archived\n`)
    const meta = join(ctx, 'meta.json')
    const r = await tsbuild(root, ctx, 'build', '--progress=quiet', '--metadata-file', meta, '-t', 'app:1', '-o', `type=oci,dest=${join(ctx, 'x.tar')}`, '.')
    expect(r.code, r.stderr).toBe(0)
    const m = JSON.parse(await readFile(meta, 'utf8')) as Record<string, any>
    expect(m['image.name']).toBe('docker.io/library/app:1')
    const hist = await tsbuild(root, ctx, 'history', 'inspect', m['buildx.build.ref'])
    expect(hist.stdout).toContain('Names:      docker.io/library/app:1\n')
  })

  test('quiet: only the image digest on stdout; --metadata-file describes the result and each step', async () => {
    const { root, ctx } = await project(`FROM ${busybox}\nRUN echo quiet-run\n`)
    const meta = join(ctx, 'meta.json')
    const r = await tsbuild(root, ctx, 'build', '--progress=quiet', '--metadata-file', meta, '-t', 'app', '.')
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toBe('')
    expect(r.stdout).toMatch(/^sha256:[a-f0-9]{64}\n$/)
    const m = JSON.parse(await readFile(meta, 'utf8')) as Record<string, any>
    expect(m['containerimage.digest']).toBe(r.stdout.trim())
    expect(m['buildx.build.ref']).toMatch(/^[a-z0-9]{25}$/)
    expect(m['containerimage.descriptor']).toMatchObject({ digest: r.stdout.trim(), mediaType: expect.stringMatching(/manifest|index/) })
    expect(m['image.name']).toMatch(/^(docker\.io\/library\/)?app(:latest)?$/)
    expect(m.manifests[0]).toMatchObject({ platform: expect.stringMatching(/^linux\//), digest: expect.stringMatching(/^sha256:/), config: expect.stringMatching(/^sha256:/) })
    expect(m['containerimage.config.digest']).toBe(m.manifests[0].config)
    const inspected = JSON.parse((await tsbuild(root, ctx, 'inspect', 'app')).stdout) as { images: Array<{ manifest: { config: { digest: string } } }> }
    expect(inspected.images.map((i) => i.manifest.config.digest)).toEqual([m['containerimage.config.digest']])
    const run = (m.steps as any[]).find((s) => s.name === '[2/2] RUN echo quiet-run')
    expect(run).toMatchObject({ cache: 'miss', missReason: expect.any(String), status: 'completed' })
    const hist = await tsbuild(root, ctx, 'history', 'logs', m['buildx.build.ref'], String(run.step))
    expect(hist.stdout).toBe('quiet-run\n')

    const again = await tsbuild(root, ctx, 'build', '--progress=quiet', '--metadata-file', meta, '-t', 'app', '.')
    expect(again.stdout).toMatch(/^sha256:[a-f0-9]{64}\n$/)
    const m2 = JSON.parse(await readFile(meta, 'utf8')) as Record<string, any>
    expect((m2.steps as any[]).some((s) => s.cache === 'hit')).toBe(true)
    expect((m2.steps as any[]).filter((s) => s.cache === 'miss' && s.name.includes('RUN'))).toEqual([])
    expect(m2['buildx.build.ref']).not.toBe(m['buildx.build.ref'])
  })

  test('a failed RUN prints its last 20 output lines, the Dockerfile line it came from, the command and exit code', async () => {
    const dockerfile = `FROM ${busybox}\nRUN echo fine\nRUN for i in $(seq 1 30); do echo out $i; done; exit 7\nRUN echo never\n`
    const { root, ctx } = await project(dockerfile)
    const r = await tsbuild(root, ctx, 'build', '--progress=plain', '.')
    expect(r.code).toBe(1)
    const report = r.stderr.slice(r.stderr.indexOf('------\n'))
    const failing = dockerfile.split('\n')[2]
    expect(report).toBe([
      '------', ` > [3/4] ${failing}:`, ...Array.from({ length: 20 }, (_, i) => `out ${i + 11}`), '------',
      'Dockerfile:3', '--------------------',
      ` 1 |     FROM ${busybox}`, ' 2 |     RUN echo fine', ` 3 | >>> ${failing}`, ' 4 |     RUN echo never',
      '--------------------',
      `ERROR: [3/4] ${failing}: process "/bin/sh -c ${failing.slice(4)}" did not complete successfully: exit code: 7`, '',
    ].join('\n'))
    expect(r.stderr).toMatch(/^#(\d+) ERROR: process .* exit code: 7$/m)
    expect(r.stderr).toMatch(/^Full logs: tsbuild history logs [a-z0-9]+$/m)
  })
})

describe('build check findings (no RUN: runs without runc)', () => {
  async function validator (): Promise<(e: unknown) => boolean> {
    const schema = JSON.parse(await readFile(join(REPO, 'docs/progress.schema.json'), 'utf8')) as object
    const validate = new Ajv2020({ strict: true, allErrors: true }).compile(schema)
    return (e) => { const ok = validate(e); if (!ok) throw new Error(JSON.stringify(validate.errors)); return ok }
  }

  test('rawjson: a finding is one warning event with rule, message, url and its Dockerfile lines; frontend warnings name their rule', async () => {
    const from = `FROM ${busybox} as base`
    const { root, ctx } = await project(`${from}\nLABEL a=b\n`)
    const r = await tsbuild(root, ctx, 'build', '--progress=rawjson', '--build-arg', 'NOT_USED=1', '-t', 'app', '.')
    expect(r.code, r.stderr).toBe(0)
    const isValid = await validator()
    const events = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>)
    for (const e of events) expect(isValid(e)).toBe(true)
    const warnings = events.filter((e) => e.type === 'warning')
    expect(warnings).toEqual([
      {
        type: 'warning',
        message: "FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 1)",
        time: expect.any(Number),
        rule: 'FromAsCasing',
        detail: [expect.any(String)],
        url: 'https://docs.docker.com/go/dockerfile/rule/from-as-casing/',
        source: { file: 'Dockerfile', ranges: [{ start: { line: 1, character: 0 }, end: { line: 1, character: from.length } }] },
      },
      { type: 'warning', message: '[Warning] One or more build-args [NOT_USED] were not consumed', time: expect.any(Number), rule: 'UnusedBuildArgs' },
    ])
    // Findings come before any step starts.
    expect(events.indexOf(warnings[0]!)).toBe(0)
  })

  test('plain: a finding is printed once, in the summary after the build', async () => {
    const { root, ctx } = await project(`FROM ${busybox}\nMAINTAINER me\n`)
    const r = await tsbuild(root, ctx, 'build', '--progress=plain', '-t', 'app', '.')
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr.match(/MaintainerDeprecated/g)).toHaveLength(1)
    expect(r.stderr).toMatch(/1 warning found.*\n - MaintainerDeprecated: Maintainer instruction is deprecated in favor of using label \(line 2\)\n/)
  })
})

describe('errors before any step runs', () => {
  test('a Dockerfile error prints file:line:column, the line, a caret and the suggestion', async () => {
    const { root, ctx } = await project('FROM scratch\nCOPY a /a\nRUNN echo hi\n')
    const r = await tsbuild(root, ctx, 'build', '--progress=plain', '.')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain([
      'Dockerfile:3:1', '--------------------', ' 1 |     FROM scratch', ' 2 |     COPY a /a', ' 3 | >>> RUNN echo hi', '   |     ^', '--------------------',
    ].join('\n'))
    expect(r.stderr).toMatch(/^ERROR: .*unknown instruction: RUNN \(did you mean RUN\?\)$/m)
  })

  test('a registry error names the image and the cause', async () => {
    // 65535: outside the ephemeral range, so nothing listens there (port 1 is one Node's fetch refuses outright).
    const { root, ctx } = await project('FROM 127.0.0.1:65535/nothing:here\n')
    const r = await tsbuild(root, ctx, 'build', '--progress=plain', '.')
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/ERROR: .*127\.0\.0\.1:65535\/nothing:here.*(unreachable|refused)/)
  })
})

describe.skipIf(!isRoot)('tty progress in a pseudo-terminal', () => {
  beforeAll(async () => {
    // The pty runs the CLI as a user would: from dist/.
    await run('npm', ['run', 'build'], { cwd: REPO }).catch(() => undefined)
    if (!existsSync(join(REPO, 'dist/cli/main.js'))) throw new Error('npm run build produced no dist/cli/main.js')
  })

  async function inPty (root: string, ctx: string, env: Record<string, string>, cols: number): Promise<string> {
    const cmd = `stty cols ${cols} rows 30; node ${join(REPO, 'bin/tsbuild.js')} build -t app ${ctx}`
    const { stdout } = await run('script', ['-qfec', cmd, '/dev/null'], { env: { PATH: process.env.PATH, TERM: 'xterm', TSBUILD_ROOT: root, ...env }, maxBuffer: 64 << 20 })
    return stdout
  }

  test('auto is a live view in a terminal: redrawn in place, never wider than the terminal, FINISHED at the end', async () => {
    const { root, ctx } = await project(`FROM ${busybox}\nRUN for i in $(seq 1 12); do printf '%s%s\\n' ti ck-$i-${'x'.repeat(80)}; sleep 0.1; done\n`)
    const out = await inPty(root, ctx, {}, 60)
    expect(out).toContain('[+] Building')
    expect(out).toMatch(/\x1b\[\d+A/) // cursor up: frames are redrawn in place
    expect(out).toMatch(/=> => # tick-/) // running step output
    expect(out).toMatch(/\x1b\[34m/) // colour
    // Every line of every frame (the result lines printed after the view are not part of it).
    const frameLines = out.split(/\r?\n|\r|\x1b\[2K/).map((l) => l.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')).filter((l) => /^( =>|\[\+\])/.test(l))
    expect(frameLines.length).toBeGreaterThan(3)
    for (const l of frameLines) expect(l.length, l).toBeLessThanOrEqual(59)
    const final = out.slice(out.lastIndexOf('[+] Building'))
    expect(final).toMatch(/^\[\+\] Building \d+\.\ds \(\d+\/\d+\) FINISHED/)
    expect(final).toMatch(/=> \[2\/2\] RUN for i in/)
    expect(final).not.toContain('tick-') // the summary has no output lines
    // Throttled: the 1.2s step cannot have produced one frame per output line and tick.
    expect(out.split('[+] Building').length - 1).toBeLessThan(40)
  })

  test('NO_COLOR: the same view without colour codes', async () => {
    const { root, ctx } = await project(`FROM ${busybox}\nRUN echo no-colour; sleep 0.3\n`)
    const out = await inPty(root, ctx, { NO_COLOR: '1' }, 80)
    expect(out).toContain('FINISHED')
    expect(out).not.toMatch(/\x1b\[\d+m/)
  })
})
