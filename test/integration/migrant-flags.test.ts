// Command lines and CI snippets carried over from docker buildx build, kaniko
// and buildah, run through the real CLI: buildx's forms behave as buildx
// documents them, and the other tools' flags end in one clear usage error.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, inject, test } from 'vitest'
import { buildOk, ensureBuilt, freshDir, runTsbuild, writeContext } from '../helpers/tsbuild.js'

let busybox: string
beforeAll(async () => {
  busybox = inject('busybox')
  await ensureBuilt()
})

const noStack = (stderr: string): void => { expect(stderr).not.toMatch(/^\s+at /m) }

describe('--secret id=X alone, as BuildKit reads it', () => {
  const dockerfile = (want: string): string => `FROM ${busybox}\nRUN --mount=type=secret,id=tok [ "$(cat /run/secrets/tok)" = "${want}" ] && echo secret-matched\n`

  test('reads the file X in the working directory when there is no variable X', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: dockerfile('from-file') })
    const cwd = await freshDir('tsb-cwd-')
    await writeFile(join(cwd, 'tok'), 'from-file')
    const r = await buildOk(['build', '--progress=plain', '--secret', 'id=tok', ctx], { root: await freshDir('tsb-root-'), cwd })
    expect(r.stderr).toContain('secret-matched')
  })

  test('reads the variable X when it is set, even with a file X there', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: dockerfile('from-env') })
    const cwd = await freshDir('tsb-cwd-')
    await writeFile(join(cwd, 'tok'), 'from-file')
    const r = await buildOk(['build', '--progress=plain', '--secret', 'id=tok', ctx], { root: await freshDir('tsb-root-'), cwd, env: { tok: 'from-env' } })
    expect(r.stderr).toContain('secret-matched')
  })
})

describe('a --secret file that is not there', () => {
  test('fails before any step runs, even when no step mounts it, naming the secret and the path', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN echo step-ran\n` })
    const cwd = await freshDir('tsb-cwd-')
    const r = await runTsbuild(['build', '--progress=plain', '--secret', 'id=npm,src=conf/.npmrc', ctx], { root: await freshDir('tsb-root-'), cwd })
    expect(r.code).toBe(1)
    expect(r.stderr).not.toContain('step-ran')
    expect(r.stderr).toContain(`ERROR: secret "npm": cannot read ${join(cwd, 'conf/.npmrc')}: no such file`)
    noStack(r.stderr)
  })

  test('src=~/… (which the shell leaves as it is) gets a hint to write $HOME', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\n` })
    const r = await runTsbuild(['build', '--secret', 'id=npm,src=~/.npmrc', ctx], { root: await freshDir('tsb-root-'), cwd: await freshDir('tsb-cwd-') })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^hint: .*src=\$HOME\//m)
  })
})

describe('--ssh sources that are not there', () => {
  test('--ssh default without SSH_AUTH_SOCK fails before any step runs, even when no step mounts it', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN echo step-ran\n` })
    const r = await runTsbuild(['build', '--progress=plain', '--ssh', 'default', ctx], { root: await freshDir('tsb-root-') })
    expect(r.code).toBe(1)
    expect(r.stderr).not.toContain('step-ran')
    expect(r.stderr).toContain('ERROR: --ssh default: SSH_AUTH_SOCK is not set')
    noStack(r.stderr)
  })

  test('an SSH_AUTH_SOCK whose agent is gone fails before any step runs', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN echo step-ran\n` })
    const gone = join(await freshDir('tsb-sock-'), 'agent.sock')
    const r = await runTsbuild(['build', '--progress=plain', '--ssh', 'default', ctx], { root: await freshDir('tsb-root-'), env: { SSH_AUTH_SOCK: gone } })
    expect(r.code).toBe(1)
    expect(r.stderr).not.toContain('step-ran')
    expect(r.stderr).toContain(`ERROR: --ssh default: SSH_AUTH_SOCK=${gone} is not a socket: the agent is gone`)
  })

  test('a key path that does not exist fails before any step runs, naming it', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN echo step-ran\n` })
    const cwd = await freshDir('tsb-cwd-')
    const r = await runTsbuild(['build', '--progress=plain', '--ssh', 'gh=keys/id_ed25519', ctx], { root: await freshDir('tsb-root-'), cwd })
    expect(r.code).toBe(1)
    expect(r.stderr).not.toContain('step-ran')
    expect(r.stderr).toContain(`ERROR: --ssh gh: cannot read ${join(cwd, 'keys/id_ed25519')}: no such file`)
  })
})

describe('--label KEY without a value', () => {
  test('is a label with an empty value on the image, as buildx sets it', async () => {
    const root = await freshDir('tsb-root-')
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\n` })
    await buildOk(['build', '--progress=plain', '-t', 'labelled:1', '--label', 'org.example.empty', '--label', 'eq=a=b', ctx], { root })
    const inspect = await buildOk(['inspect', 'labelled:1'], { root })
    expect(inspect.stdout).toMatch(/"org\.example\.empty": ""/)
    expect(inspect.stdout).toMatch(/"eq": "a=b"/)
  })
})

describe('-f relative to the context (kaniko\'s --dockerfile is)', () => {
  test('-f is relative to the working directory, as in buildx; when the file is in the context the hint names that path', async () => {
    const cwd = await freshDir('tsb-cwd-')
    await writeContext(join(cwd, 'app'), { 'Dockerfile.prod': `FROM ${busybox}\n` })
    const r = await runTsbuild(['build', '-f', 'Dockerfile.prod', 'app'], { root: await freshDir('tsb-root-'), cwd })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('ERROR: failed to read dockerfile: open Dockerfile.prod: no such file or directory')
    expect(r.stderr).toContain('hint: -f is relative to the working directory, not to the context: did you mean -f app/Dockerfile.prod?')
    await buildOk(['build', '-f', 'app/Dockerfile.prod', 'app'], { root: await freshDir('tsb-root-'), cwd })
  })
})

describe('a Containerfile (buildah\'s default name) and no Dockerfile', () => {
  test('the error names -f with the Containerfile', async () => {
    const cwd = await freshDir('tsb-cwd-')
    await writeContext(join(cwd, 'app'), { Containerfile: `FROM ${busybox}\n` })
    const r = await runTsbuild(['build', 'app'], { root: await freshDir('tsb-root-'), cwd })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('ERROR: failed to read dockerfile: open app/Dockerfile: no such file or directory')
    expect(r.stderr).toContain('hint: did you mean -f app/Containerfile? (buildah\'s default name; tsbuild, as buildx, reads CONTEXT/Dockerfile)')
  })
})

describe('-f given a directory', () => {
  test('says it is a directory and suggests the Dockerfile in it', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { 'ci/Dockerfile': `FROM ${busybox}\n` })
    const r = await runTsbuild(['build', '-f', 'ci', '.'], { root: await freshDir('tsb-root-'), cwd: ctx })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('ERROR: failed to read dockerfile: read ci: is a directory')
    expect(r.stderr).toContain('hint: -f takes the Dockerfile\'s path, e.g. -f ci/Dockerfile')
    noStack(r.stderr)
  })
})

describe('kaniko and buildah command lines', () => {
  test.each([
    [['build', '--context', '.', '--dockerfile', 'Dockerfile', '--destination', 'reg.example/app:1'], 'unknown flags: --context, --dockerfile, --destination (kaniko flags)'],
    [['build', '--destination=reg.example/app:1', '.'], 'unknown flag: --destination (a kaniko flag)'],
    [['bud', '--layers', '-t', 'app', '.'], 'unknown flag: --layers (a buildah flag)'],
    [['bud', '-t', 'app', '.'], '"bud" is buildah\'s build command'],
    [['build', '--format', 'docker', '-t', 'app', '.'], 'unknown flag: --format (a buildah flag)'],
  ])('%j: one usage error with a hint, exit 2, before anything runs', async (argv, message) => {
    const cwd = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\n` })
    const r = await runTsbuild(argv, { root: await freshDir('tsb-root-'), cwd })
    expect(r.code).toBe(2)
    expect(r.stderr.split('\n').filter((l) => l.startsWith('ERROR:'))).toEqual([expect.stringContaining(message)])
    expect(r.stderr).toMatch(/^hint: /m)
    noStack(r.stderr)
  })
})

describe('archive outputs without dest=, as buildx takes them', () => {
  test('-o type=tar with stdout a pipe writes the root filesystem to stdout', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN echo hi > /marker-file\n` })
    const r = await buildOk(['build', '--progress=quiet', '-o', 'type=tar', ctx], { root: await freshDir('tsb-root-') })
    expect(r.stdout).toContain('marker-file')
    expect(r.stdout).toContain('ustar')
  })

  test('-o type=docker (buildx: load into the docker daemon) says to use --load or dest=', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\n` })
    const r = await runTsbuild(['build', '-o', 'type=docker', '-t', 'app', ctx], { root: await freshDir('tsb-root-') })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('type=docker without dest= loads the image into a docker daemon, and tsbuild has none: use --load -t NAME')
    noStack(r.stderr)
  })
})

describe('--progress none and --iidfile beside files, as buildx has them', () => {
  test('--progress none builds, prints nothing on stderr and no digest on stdout; -q prints the digest', async () => {
    const root = await freshDir('tsb-root-')
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN echo none-mode\n` })
    const none = await buildOk(['build', '--progress', 'none', '-t', 'silent:1', ctx], { root })
    expect([none.stdout, none.stderr]).toEqual(['', ''])
    const quiet = await buildOk(['build', '-q', '-t', 'silent:1', ctx], { root })
    expect(quiet.stdout).toMatch(/^sha256:[a-f0-9]{64}\n$/)
  })

  test('--iidfile with -o type=local is a usage error before anything runs', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN echo step-ran\n` })
    const out = await freshDir('tsb-out-')
    const r = await runTsbuild(['build', '--progress=plain', '--iidfile', join(out, 'iid'), '-o', `type=local,dest=${join(out, 'fs')}`, ctx], { root: await freshDir('tsb-root-') })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('ERROR: --iidfile: local and tar outputs make no image')
    expect(r.stderr).not.toContain('step-ran')
  })
})
