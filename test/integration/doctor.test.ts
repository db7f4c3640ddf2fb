// tsbuild doctor on the real host: runc, the state dir, overlayfs, binfmt_misc, git and skopeo.
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { DoctorReport } from '../../src/cli/commands/doctor.js'
import { runMain, type CliResult } from '../helpers/inProcess.js'

const run = promisify(execFile)
const isRoot = process.getuid?.() === 0

async function tsbuild (env: NodeJS.ProcessEnv, ...argv: string[]): Promise<CliResult> {
  return await runMain(argv, { env, cwd: tmpdir() })
}

const check = (r: DoctorReport, name: string) => r.checks.find((c) => c.name === name)

let work: string
beforeAll(async () => { work = await mkdtemp(join(tmpdir(), 'tsbuild-doctor-')) })
afterAll(async () => { await rm(work, { recursive: true, force: true }) })

describe.runIf(isRoot)('tsbuild doctor on a complete host (root: overlay and runc need it)', () => {
  let report: DoctorReport
  let code: number
  let root: string
  beforeAll(async () => {
    root = await mkdtemp(join(work, 'state-'))
    const r = await tsbuild({ TSBUILD_ROOT: root, PATH: process.env.PATH }, 'doctor', '--format', 'json')
    code = r.code
    report = JSON.parse(r.stdout) as DoctorReport
  })

  test('exits 0 and reports ok', () => {
    expect(code).toBe(0)
    expect(report.ok).toBe(true)
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([])
  })

  test('reports the runc version that runc itself prints', async () => {
    const { stdout } = await run('runc', ['--version'])
    expect(check(report, 'runc')).toEqual({ name: 'runc', status: 'ok', detail: stdout.split('\n')[0] })
  })

  test('reports the state dir as writable with its free space, and overlay under it', () => {
    expect(report.stateDir).toBe(root)
    expect(check(report, 'state-dir')?.detail).toMatch(new RegExp(`^${root} \\(writable, [\\d.]+ [KMGT]?i?B free\\)$`))
    expect(check(report, 'snapshotter')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^overlay/) })
  })

  test('lists the host platform and every architecture with a registered qemu handler as runnable', async () => {
    expect(report.runnablePlatforms[0]).toBe('linux/amd64')
    const arm64 = await readFile('/proc/sys/fs/binfmt_misc/qemu-aarch64', 'utf8').then((t) => t.startsWith('enabled'), () => false)
    expect(report.runnablePlatforms.includes('linux/arm64')).toBe(arm64)
    expect(report.missingPlatforms.includes('linux/arm64')).toBe(!arm64)
    for (const p of report.missingPlatforms) expect(report.runnablePlatforms).not.toContain(p)
    const platforms = check(report, 'platforms')!
    expect(platforms.status).toBe(report.missingPlatforms.length === 0 ? 'ok' : 'warn')
    if (platforms.status === 'warn') expect(platforms.hint).toMatch(/qemu|binfmt_misc/)
  })

  test('finds git and skopeo', () => {
    expect(check(report, 'git')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^git version /) })
    expect(check(report, 'skopeo')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^skopeo version /) })
  })
})

describe('tsbuild doctor on a host missing things', () => {
  test('without runc on PATH it fails with the install command; missing git and skopeo only warn', async () => {
    const root = await mkdtemp(join(work, 'state-'))
    const emptyBin = await mkdtemp(join(work, 'bin-'))
    const r = await tsbuild({ TSBUILD_ROOT: root, PATH: emptyBin }, 'doctor')
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/^FAIL +runc +runc not found on PATH/m)
    expect(r.stdout).toContain('→ apt-get install runc')
    expect(r.stdout).toMatch(/^warn +git +git not found on PATH/m)
    expect(r.stdout).toMatch(/^warn +skopeo +skopeo not found on PATH/m)
    expect(r.stdout).toContain('cannot build on this host')
  })

  test('a state dir that cannot be created fails and skips the snapshotter check', async () => {
    const file = join(work, 'a-file')
    await writeFile(file, 'not a directory')
    const r = await tsbuild({ TSBUILD_ROOT: join(file, 'state'), PATH: process.env.PATH }, 'doctor', '--format=json')
    expect(r.code).toBe(1)
    const report = JSON.parse(r.stdout) as DoctorReport
    expect(report.ok).toBe(false)
    expect(check(report, 'state-dir')).toMatchObject({ status: 'fail', detail: expect.stringContaining(`${join(file, 'state')} is not writable`), hint: expect.stringContaining('TSBUILD_ROOT') })
    expect(check(report, 'snapshotter')).toBeUndefined()
  })

  test.each([
    [['--format', 'yaml'], /--format must be text or json/],
    [['extra'], /unexpected argument "extra"/],
  ])('rejects %j as a usage error (exit 2)', async (args, message) => {
    const r = await tsbuild({ TSBUILD_ROOT: work, PATH: process.env.PATH }, 'doctor', ...args)
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(message)
  })
})
