// `tsbuild build --check` / `--call=check` through the CLI: findings with their
// Dockerfile lines on stdout, exit 1 when there are any; and a normal build
// that prints its findings at the end or fails on check=error=true. With
// --target (and in a build) only the stages the target needs are followed.
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'

const REPO = resolve(import.meta.dirname, '../..')

interface Run { code: number; stdout: string; stderr: string }

function tsbuild (root: string, args: string[], stdin?: string): Promise<Run> {
  return new Promise((done) => {
    const child = execFile('node', [join(REPO, 'bin/tsbuild.js'), ...args], { env: { ...process.env, TSBUILD_ROOT: root }, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      done({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr })
    })
    child.stdin?.end(stdin ?? '')
  })
}

async function context (files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(work, 'ctx-'))
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text)
  return dir
}

let work: string
let root: string
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tsbuild-checks-'))
  root = await mkdtemp(join(work, 'state-'))
  const built = await new Promise<Run>((done) => execFile('npm', ['run', '--silent', 'build'], { cwd: REPO }, (err, stdout, stderr) => done({ code: err === null ? 0 : 1, stdout, stderr })))
  expect(built.stderr + built.stdout).toBe('')
}, 180_000)
afterAll(async () => { await rm(work, { recursive: true, force: true }) })

describe('tsbuild build --check', () => {
  test('prints each finding with its lines, builds nothing and exits 1', async () => {
    const busybox = inject('busybox')
    const dir = await context({
      Dockerfile: [
        `FROM ${busybox} as Build`, // 1: FromAsCasing, StageNameCasing
        'MAINTAINER someone', // 2
        'ENV API_TOKEN=abc', // 3: SecretsUsedInArgOrEnv
        'COPY secret.txt $DEST /app/', // 4: CopyIgnoredFile, UndefinedVar
        'WORKDIR app', // 5
        'RUN echo $PATH', // 6: PATH comes from the base image
        'CMD ./run', // 7
        '',
      ].join('\n'),
      'secret.txt': 'x\n',
      '.dockerignore': 'secret.txt\n',
    })
    const r = await tsbuild(root, ['build', '--check', '-t', 'never-built', dir])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(1)
    const warnings = r.stdout.split('\n').filter(l => l.startsWith('WARNING: '))
    expect(warnings).toEqual([
      "WARNING: FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 1)",
      "WARNING: StageNameCasing: Stage name 'Build' should be lowercase (line 1)",
      'WARNING: MaintainerDeprecated: Maintainer instruction is deprecated in favor of using label (line 2)',
      'WARNING: SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive data (ENV "API_TOKEN") (line 3)',
      'WARNING: CopyIgnoredFile: Attempting to Copy file "secret.txt" that is excluded by .dockerignore (line 4)',
      "WARNING: UndefinedVar: Usage of undefined variable '$DEST' (line 4)",
      'WARNING: WorkdirRelativePath: Relative workdir "app" can have unexpected results if the base image changes (line 5)',
      'WARNING: JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals (line 7)',
    ])
    expect(r.stdout.split('\n')[0]).toBe('Check complete, 8 warnings have been found!')
    // The source lines follow each warning, the finding's line marked.
    const afterCmd = r.stdout.slice(r.stdout.indexOf('WARNING: JSONArgsRecommended'))
    expect(afterCmd).toMatch(/>>> CMD \.\/run/)
    const images = await tsbuild(root, ['images'])
    expect(images.stdout).toMatch(/^NAME /)
    expect(images.stdout).not.toContain('never-built')
  })

  test('--call=check on a clean Dockerfile exits 0', async () => {
    const dir = await context({ Dockerfile: 'FROM scratch\nCOPY a /a\nCMD ["/a"]\n', a: 'a\n' })
    const r = await tsbuild(root, ['build', '--call=check', dir])
    expect(r).toMatchObject({ code: 0, stdout: 'Check complete, no warnings found.\n' })
  })

  test('the check directive and BUILDKIT_DOCKERFILE_CHECK choose the rules', async () => {
    const dir = await context({ Dockerfile: '# check=skip=JSONArgsRecommended\nFROM scratch\nMAINTAINER me\nCMD run\n' })
    const skipped = await tsbuild(root, ['build', '--check', dir])
    expect(skipped.stdout.split('\n').filter(l => l.startsWith('WARNING'))).toEqual(['WARNING: MaintainerDeprecated: Maintainer instruction is deprecated in favor of using label (line 3)'])
    const replaced = await tsbuild(root, ['build', '--check', '--build-arg', 'BUILDKIT_DOCKERFILE_CHECK=skip=MaintainerDeprecated', dir])
    expect(replaced.stdout.split('\n').filter(l => l.startsWith('WARNING'))).toEqual(['WARNING: JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals (line 4)'])
    const none = await tsbuild(root, ['build', '--check', '--build-arg', 'BUILDKIT_DOCKERFILE_CHECK=skip=all', dir])
    expect(none).toMatchObject({ code: 0, stdout: 'Check complete, no warnings found.\n' })
  })

  test('--target checks only the stages the target needs; without it, every stage', async () => {
    const dir = await context({
      Dockerfile: [
        'FROM scratch AS unused',
        'WORKDIR tmp', // 2: WorkdirRelativePath, in a stage app does not need
        'FROM scratch AS build',
        'COPY a /a',
        'FROM scratch AS app',
        'COPY --from=build /a /a',
        'CMD run', // 7: JSONArgsRecommended
        'MAINTAINER me', // 8: on the written text, reported whatever the target
        '',
      ].join('\n'),
      a: 'a\n',
    })
    const warnings = (r: Run): string[] => r.stdout.split('\n').filter(l => l.startsWith('WARNING: ')).map(l => l.replace(/^WARNING: (\w+):.*\(line (\d+)\)$/, '$1 $2'))
    const all = await tsbuild(root, ['build', '--check', dir])
    expect(all.code).toBe(1)
    expect(warnings(all)).toEqual(['WorkdirRelativePath 2', 'JSONArgsRecommended 7', 'MaintainerDeprecated 8'])
    const app = await tsbuild(root, ['build', '--check', '--target', 'app', dir])
    expect(app.stderr).toBe('')
    expect(warnings(app)).toEqual(['JSONArgsRecommended 7', 'MaintainerDeprecated 8'])
    expect(app.stdout.split('\n')[0]).toBe('Check complete, 2 warnings have been found!')
    const unused = await tsbuild(root, ['build', '--call=check', '--target=unused', dir])
    expect(warnings(unused)).toEqual(['WorkdirRelativePath 2', 'MaintainerDeprecated 8'])
    const missing = await tsbuild(root, ['build', '--check', '--target', 'nope', dir])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('target stage "nope" could not be found')
  })

  test('a syntax error is reported as for a build', async () => {
    const dir = await context({ Dockerfile: 'FROM scratch\nCOPY onlyone\n' })
    const r = await tsbuild(root, ['build', '--check', dir])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('COPY requires at least two arguments')
  })
})

describe('a build with findings', () => {
  test('prints them after the build and succeeds', async () => {
    const dir = await context({ Dockerfile: 'FROM scratch\nCOPY a /a\nCMD /a\n', a: 'a\n' })
    const r = await tsbuild(root, ['build', '--progress=plain', '-t', 'with-warnings', dir])
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/naming to \S*with-warnings\S* done\n(?:.*\n)*1 warning found[^\n]*\n - JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals \(line 3\)\n/)
  })

  test('a stage the build does not need is not checked (as BuildKit)', async () => {
    const dir = await context({ Dockerfile: 'FROM scratch AS unused\nWORKDIR tmp\nFROM scratch\nCOPY a /a\nCMD /a\n', a: 'a\n' })
    const r = await tsbuild(root, ['build', '--progress=plain', dir])
    expect(r.code).toBe(0)
    expect(r.stderr).toContain('1 warning found')
    expect(r.stderr).toContain(' - JSONArgsRecommended: ')
    expect(r.stderr).not.toContain('WorkdirRelativePath')
  })

  test('fails before building with check=error=true', async () => {
    const dir = await context({ Dockerfile: '# check=error=true\nFROM scratch\nCOPY a /a\nMAINTAINER me\nCMD /a\n', a: 'a\n' })
    const r = await tsbuild(root, ['build', '--progress=plain', '-t', 'fails-checks', dir])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('ERROR: lint violation found for rules: MaintainerDeprecated, JSONArgsRecommended')
    expect(r.stderr).not.toContain('COPY a /a\n#')
    // Each finding with its Dockerfile lines comes first, as --check prints it.
    const findings = r.stderr.slice(r.stderr.indexOf('WARNING: MaintainerDeprecated'))
    expect(findings).toMatch(/^WARNING: MaintainerDeprecated: .*\(line 4\)\nDockerfile:4\n-+\n(.*\n){2} 4 \| >>> MAINTAINER me\n/)
    expect(findings).toMatch(/\nWARNING: JSONArgsRecommended: .*\(line 5\)\nDockerfile:5\n-+\n(.*\n){2} 5 \| >>> CMD \/a\n/)
    expect(findings.indexOf('WARNING: JSONArgsRecommended')).toBeLessThan(findings.indexOf('ERROR: lint violation'))
    const images = await tsbuild(root, ['images'])
    expect(images.stdout).toMatch(/^NAME /)
    expect(images.stdout).not.toContain('fails-checks')
  })
})
