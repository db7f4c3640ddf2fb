// Outputs through the real CLI: `-o -` and `dest=-` put an archive (and
// nothing else) on stdout, a terminal is refused, and every bad destination
// is one `ERROR:` line naming the path, with exit 1 (2 for usage) — never an
// internal error, a stack trace or an endless mkdir under /proc.
import { execFile, spawn } from 'node:child_process'
import { open, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, test } from 'vitest'
import { BIN, ensureBuilt, freshDir, runTsbuild, writeContext, type TsbuildRun } from '../helpers/tsbuild.js'

const run = promisify(execFile)

let root: string
let ctx: string
let dir: string
let file: string
beforeAll(async () => {
  await ensureBuilt()
  root = await freshDir('tsb-root-')
  dir = await freshDir('tsb-out-')
  file = join(dir, 'FILE')
  await writeFile(file, 'not a directory\n')
  ctx = await writeContext(await freshDir('tsb-ctx-'), {
    Dockerfile: 'FROM scratch\nCOPY hello.txt /hello.txt\n',
    'hello.txt': 'hello\n',
  })
})

/** Run tsbuild with stdout redirected to a file, as `tsbuild … > out` does in a shell. */
async function buildToFile (args: readonly string[], out: string): Promise<{ code: number | null; stderr: string }> {
  const fh = await open(out, 'w')
  try {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: root, env: { PATH: process.env.PATH, HOME: process.env.HOME, TSBUILD_ROOT: root }, stdio: ['ignore', fh.fd, 'pipe'] })
    let stderr = ''
    child.stderr!.setEncoding('utf8').on('data', (c: string) => { stderr += c })
    const code = await new Promise<number | null>((resolve, reject) => { child.on('error', reject); child.on('close', resolve) })
    return { code, stderr }
  } finally {
    await fh.close()
  }
}

describe('stdout as the destination', () => {
  test('-o - writes a tar of the filesystem, readable by tar -t', async () => {
    const out = join(await freshDir('tsb-stdout-'), 'fs.tar')
    const meta = join(await freshDir('tsb-meta-'), 'meta.json')
    const r = await buildToFile(['build', '-o', '-', '--metadata-file', meta, ctx], out)
    expect(r.code, r.stderr).toBe(0)
    expect((await run('tar', ['-tf', out])).stdout.split('\n')).toContain('hello.txt')
    // Reported as given, not as the temp file the archive went through.
    expect(JSON.parse(await readFile(meta, 'utf8')).outputs).toEqual(['tar:-'])
    expect((await run('tar', ['-xOf', out, 'hello.txt'])).stdout).toBe('hello\n')
  })

  test('-q -o type=oci,dest=- writes only the OCI archive (no digest line), which skopeo inspects', async () => {
    const out = join(await freshDir('tsb-stdout-'), 'oci.tar')
    const r = await buildToFile(['build', '-q', '-o', 'type=oci,dest=-', ctx], out)
    expect(r.code, r.stderr).toBe(0)
    const inspected = JSON.parse((await run('skopeo', ['inspect', `oci-archive:${out}`])).stdout) as { Digest: string; Layers: string[] }
    expect(inspected.Digest).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(inspected.Layers).toHaveLength(1)
    // A digest line printed after the archive would be trailing bytes past the tar's end.
    expect((await readFile(out)).subarray(-1024).every((b) => b === 0)).toBe(true)
  })

  test('a failed build leaves stdout empty', async () => {
    const broken = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: 'FROM scratch\nCOPY missing.txt /x\n' })
    const out = join(await freshDir('tsb-stdout-'), 'fs.tar')
    const r = await buildToFile(['build', '-o', '-', broken], out)
    expect(r.code).toBe(1)
    expect((await stat(out)).size).toBe(0)
  })

  test('a terminal on stdout is refused before building (exit 2)', async () => {
    // script(1) gives the command a pseudo-terminal as stdout.
    const cmd = `TSBUILD_ROOT=${root} ${process.execPath} ${BIN} build -o type=tar,dest=- ${ctx}`
    const r = await run('script', ['-qec', cmd, '/dev/null']).then(() => ({ code: 0, stdout: '' }), (e: { code: number; stdout: string }) => e)
    expect(r.code).toBe(2)
    expect(r.stdout).toMatch(/^ERROR: refusing to write the "type=tar,dest=-" archive to a terminal\r?\n/)
    expect(r.stdout).not.toContain('#1 ')
  })
})

/** One ERROR line naming the path, and nothing of an internal failure. */
function expectOneLineError (r: TsbuildRun, code: number, message: RegExp): void {
  expect(r.code, r.stderr).toBe(code)
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('ERROR: '))
  expect(errors, r.stderr).toHaveLength(1)
  expect(errors[0]).toMatch(message)
  expect(r.stderr).not.toMatch(/internal error|\n\s+at /)
  expect(r.stdout).toBe('')
}

describe('bad destinations', () => {
  const cases: Array<[string, () => string[], RegExp]> = [
    ['type=local under a file', () => ['-o', `type=local,dest=${file}/sub`], /^ERROR: output type=local \S+\/FILE\/sub: \S+\/FILE is a file, not a directory$/],
    ['type=oci under a file', () => ['-o', `type=oci,dest=${file}/sub/x.tar`], /^ERROR: output type=oci \S+\/FILE\/sub\/x\.tar: \S+\/FILE is a file, not a directory$/],
    ['type=tar at a directory', () => ['-o', `type=tar,dest=${dir}`], /^ERROR: output type=tar \S+: is a directory, expected a file path$/],
    ['type=docker under /proc', () => ['-o', 'type=docker,dest=/proc/tsbuild-x/y.tar'], /^ERROR: output type=docker \/proc\/tsbuild-x\/y\.tar: cannot create \/proc\/tsbuild-x: \/proc does not accept new directories$/],
    ['type=local under /proc', () => ['-o', 'type=local,dest=/proc/tsbuild-x'], /^ERROR: output type=local \/proc\/tsbuild-x: cannot create \/proc\/tsbuild-x: \/proc does not accept new directories$/],
    ['--metadata-file under a file', () => ['--metadata-file', `${file}/sub/m.json`], /^ERROR: --metadata-file \S+\/FILE\/sub\/m\.json: \S+\/FILE is a file, not a directory$/],
    ['--cache-to type=local under a file', () => ['--cache-to', `type=local,dest=${file}/sub`], /^ERROR: cache export type=local \S+\/FILE\/sub: \S+\/FILE is a file, not a directory$/],
    ['--cache-to type=local under /proc', () => ['--cache-to', 'type=local,dest=/proc/tsbuild-x'], /^ERROR: cache export type=local \/proc\/tsbuild-x: cannot create \/proc\/tsbuild-x: \/proc does not accept new directories$/],
  ]
  test.each(cases)('%s: exit 1 with one line', async (_name, args, message) => {
    // The timeout turns an endless mkdir loop into a failure (SIGKILL, code null) instead of a hung run.
    const r = await runTsbuild(['build', ...args(), ctx], { root, timeoutMs: 60_000 })
    expectOneLineError(r, 1, message)
  }, 70_000)

  test.each([
    ['two outputs on stdout', ['-o', '-', '-o', 'type=oci,dest=-'], /^ERROR: only one output can write to stdout \(dest=-\), got 2/],
    ['a directory layout on stdout', ['-o', 'type=oci,tar=false,dest=-'], /^ERROR: invalid output "type=oci,tar=false,dest=-": tar=false writes a directory/],
  ])('%s: usage error, exit 2', async (_name, args, message) => {
    const r = await runTsbuild(['build', ...args, ctx], { root, timeoutMs: 60_000 })
    expectOneLineError(r, 2, message)
  }, 70_000)

  test.each([
    ['a regular file', () => file, /^ERROR: state dir \S+\/FILE: is a file, not a directory$/],
    ['under /proc', () => '/proc/tsbuild-x', /^ERROR: state dir \/proc\/tsbuild-x: cannot create \/proc\/tsbuild-x: \/proc does not accept new directories$/],
  ])('TSBUILD_ROOT as %s: build and images say so in one line', async (_name, stateDir, message) => {
    for (const args of [['build', ctx], ['images']]) {
      const r = await runTsbuild(args, { root: stateDir(), cwd: dir, timeoutMs: 60_000 })
      expectOneLineError(r, 1, message)
      expect(r.stderr).toContain('hint: set TSBUILD_ROOT to a writable directory')
    }
  }, 130_000)

  test('doctor names a state dir that is a file', async () => {
    const r = await runTsbuild(['doctor'], { root: file, cwd: dir, timeoutMs: 60_000 })
    expect(r.code).toBe(1)
    expect(r.stdout + r.stderr).toMatch(/state-dir\s+\S+\/FILE is a file, not a directory/)
    expect(r.stdout + r.stderr).not.toContain('EEXIST')
  }, 70_000)
})
