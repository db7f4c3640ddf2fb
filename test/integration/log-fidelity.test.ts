// What a step prints reaches every view whole and undamaged (plain, rawjson,
// tty, the history's logs, a failure's last lines), and a secret's value
// reaches none of them, nor anything under the state dir.
import { execFile } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { runMain, type CliResult } from '../helpers/inProcess.js'

const run = promisify(execFile)
const REPO = resolve(import.meta.dirname, '../..')
const isRoot = process.getuid?.() === 0

let work: string
let busybox: string

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tsbuild-logs-'))
  busybox = inject('busybox')
})
afterAll(async () => { await rm(work, { recursive: true, force: true }) })

async function tsbuild (root: string, cwd: string, argv: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return await runMain(argv, { env: { TSBUILD_ROOT: root, PATH: process.env.PATH, ...env }, cwd })
}

async function project (dockerfile: string, files: Record<string, string> = {}): Promise<{ root: string; ctx: string }> {
  const root = await mkdtemp(join(work, 'root-'))
  const ctx = await mkdtemp(join(work, 'ctx-'))
  await writeFile(join(ctx, 'Dockerfile'), dockerfile)
  for (const [name, text] of Object.entries(files)) await writeFile(join(ctx, name), text)
  return { root, ctx }
}

/** Every file under `dir` whose bytes (gunzipped when gzip) contain `needle`. */
async function filesContaining (dir: string, needle: string): Promise<string[]> {
  const hits: string[] = []
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue
    const path = join(e.parentPath, e.name)
    let bytes = await readFile(path).catch(() => Buffer.alloc(0))
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = (() => { try { return gunzipSync(bytes) } catch { return bytes } })()
    if (bytes.includes(needle)) hits.push(path)
  }
  return hits
}

/** The bytes of every rawjson log event, in order. */
function rawjsonLogs (stderr: string): Buffer {
  const events = stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; data?: string })
  return Buffer.concat(events.filter((e) => e.type === 'log').map((e) => Buffer.from(e.data!, 'base64')))
}

describe.skipIf(!isRoot)('secrets stay out of every log (RUN needs root for runc)', () => {
  const ENV_SECRET = 'env-s3cr3t-7f3a9c'
  const FILE_SECRET = 'file-s3cr3t-42d1e8'
  // The env secret is printed in two writes, split in the middle of the value.
  const dockerfile = (): string => `FROM ${busybox}
RUN --mount=type=secret,id=tok,env=TOK printf 'tok=%s\\n' "$TOK"; printf '%s' "$TOK" | head -c 5; sleep 0.2; printf '%s\\n' "$TOK" | tail -c +6
RUN --mount=type=secret,id=f cat /run/secrets/f; cat /run/secrets/f >&2; echo "in a word:$(cat /run/secrets/f)." > /visible.txt
`

  test.each(['plain', 'rawjson'])('%s progress, history logs and inspect show **** for an echoed secret', async (mode) => {
    const { root, ctx } = await project(dockerfile(), { 'secret.txt': `${FILE_SECRET}\n` })
    const r = await tsbuild(root, ctx, ['build', `--progress=${mode}`, '--secret', 'id=tok,env=TOK', '--secret', `id=f,src=${join(ctx, 'secret.txt')}`, '-t', 'app', '.'], { TOK: ENV_SECRET })
    expect(r.code, r.stderr).toBe(0)
    const shown = mode === 'rawjson' ? rawjsonLogs(r.stderr).toString() : r.stderr
    for (const s of [ENV_SECRET, FILE_SECRET, 'env-s3', 'cr3t-7f3a9c']) expect(shown).not.toContain(s)
    expect(shown).toContain('tok=****')
    expect(shown.match(/\*\*\*\*/g)?.length).toBeGreaterThanOrEqual(4)

    const logs = await tsbuild(root, ctx, ['history', 'logs', '^1'])
    expect(logs.stdout).toContain('tok=****')
    expect(logs.stdout).not.toContain(ENV_SECRET)
    expect(logs.stdout).not.toContain(FILE_SECRET)
    const inspect = await tsbuild(root, ctx, ['history', 'inspect', '^1', '--format', 'json'])
    expect(inspect.stdout).toContain('"tok"')
    expect(inspect.stdout).not.toContain(ENV_SECRET)
    // What the RUN wrote into a file of the image is the user's doing; only that file may hold it.
    expect((await filesContaining(root, ENV_SECRET)).map((p) => p.slice(root.length))).toEqual([])
    expect((await filesContaining(root, FILE_SECRET)).every((p) => !p.includes('/history/'))).toBe(true)
  })

  test('a failed RUN that printed its secret: the last lines and the recorded error show ****', async () => {
    const { root, ctx } = await project(`FROM ${busybox}\nRUN --mount=type=secret,id=tok,env=TOK echo "using $TOK"; exit 3\n`)
    const r = await tsbuild(root, ctx, ['build', '--progress=plain', '--secret', 'id=tok,env=TOK', '.'], { TOK: ENV_SECRET })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^using \*\*\*\*$/m)
    expect(r.stderr).not.toContain(ENV_SECRET)
    expect(await filesContaining(root, ENV_SECRET)).toEqual([])
  })
})

describe.skipIf(!isRoot)('output reaches every view whole (RUN needs root for runc)', () => {
  test('a failed RUN shows its last 20 lines as a terminal would: bars at their end, no colour codes, split characters whole', async () => {
    const { root, ctx } = await project(`FROM ${busybox}
RUN for i in $(seq 1 25); do echo line$i; done; printf 'bar 10%%\\rbar 100%%\\n'; printf '\\033[32mgreen\\033[0m\\n'; printf '\\342\\202'; sleep 0.2; printf '\\254 euro\\n'; printf 'unterminated'; exit 2
`)
    const r = await tsbuild(root, ctx, ['build', '--progress=plain', '.'])
    expect(r.code).toBe(1)
    const block = /\n------\n > \[2\/2\] RUN [^\n]*:\n([\s\S]*?)\n------\n/.exec(r.stderr)
    expect(block, r.stderr).not.toBeNull()
    expect(block![1]!.split('\n')).toEqual([...Array.from({ length: 16 }, (_, i) => `line${i + 10}`), 'bar 100%', 'green', '€ euro', 'unterminated'])
  })

  // BuildKit clips a step's log at 2 MiB ("[output clipped, log limit 2MiB reached]", BUILDKIT_STEP_LOG_MAX_SIZE)
  // and drops the rest; tsbuild clips nothing, in any view.
  test('2.7 MB of lines, binary bytes and a 100 KB last line without newline: every byte in plain, rawjson and history logs', async () => {
    const { root, ctx } = await project(`FROM ${busybox}\nRUN seq 1 400000; printf 'bin:\\377\\376\\001\\n'; head -c 100000 /dev/zero | tr '\\0' x\n`)
    let want = ''
    for (let i = 1; i <= 400000; i++) want += `${i}\n`
    const wantBytes = Buffer.concat([Buffer.from(want), Buffer.from([0x62, 0x69, 0x6e, 0x3a, 0xff, 0xfe, 0x01, 0x0a]), Buffer.from('x'.repeat(100000))])

    const plain = await tsbuild(root, ctx, ['build', '--progress=plain', '.'])
    expect(plain.code, plain.stderr.slice(-2000)).toBe(0)
    expect(plain.stderr).not.toContain('clipped')
    const n = /^#(\d+) \[2\/2\] RUN seq/m.exec(plain.stderr)![1]!
    const printed = [...plain.stderr.matchAll(new RegExp(`^#${n} \\d+\\.\\d{3} (.*)$`, 'gm'))].map((m) => m[1])
    expect(printed.length).toBe(400002)
    expect(printed[0]).toBe('1')
    expect(printed[399999]).toBe('400000')
    expect(printed[400001]).toBe('x'.repeat(100000))

    // `history logs BUILD N` prints this file as it is (read directly: the captured stdout is text).
    const logs = await tsbuild(root, ctx, ['history', 'logs', '^1', n])
    expect(logs.code).toBe(0)
    expect(logs.stdout.endsWith('x'.repeat(100000))).toBe(true)
    const stored = await readFile(join(root, 'history', (await readdir(join(root, 'history'))).find((d) => !d.startsWith('.'))!, 'logs', `${n}.log`))
    expect(stored.equals(wantBytes)).toBe(true)

    const raw = await tsbuild(root, ctx, ['build', '--no-cache', '--progress=rawjson', '.'])
    expect(raw.code).toBe(0)
    expect(rawjsonLogs(raw.stderr).equals(wantBytes)).toBe(true)
  })

  test('tty in a pseudo-terminal: no raw escape codes or carriage returns of the step reach the screen', async () => {
    const { root, ctx } = await project(`FROM ${busybox}\nRUN printf 'pulling\\033[31m red\\033[0m'; printf ' 10%%\\r 100%%\\n'; sleep 0.5; echo done\n`)
    const cmd = `stty cols 80 rows 30; node ${join(REPO, 'bin/tsbuild.js')} build ${ctx}`
    const { stdout } = await run('script', ['-qfec', cmd, '/dev/null'], { env: { PATH: process.env.PATH, TERM: 'xterm', TSBUILD_ROOT: root, NO_COLOR: '1' }, maxBuffer: 64 << 20 })
    expect(stdout).toMatch(/=> => # (pulling red 10%|\s*100%)/)
    // With NO_COLOR every escape is tsbuild's own cursor control: up, clear line, clear below.
    // eslint-disable-next-line no-control-regex
    expect(stdout.match(/\x1b\[[0-9;?]*[A-Za-z]/g)?.every((e) => /^\x1b\[(\d+A|2K|J)$/.test(e))).toBe(true)
  })
})
