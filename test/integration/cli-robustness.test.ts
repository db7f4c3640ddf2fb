// The CLI when its pipes close early or its process is killed: a reader that
// leaves (`| head -1`) ends a listing quietly, a closed stderr never stops a
// build, and a build whose process died shows as interrupted in the history.
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { buildOk, ensureBuilt, freshDir, runTsbuild, spawnTsbuild } from '../helpers/tsbuild.js'

const isRoot = process.getuid?.() === 0
let work: string
let busybox: string

beforeAll(async () => {
  await ensureBuilt()
  work = await freshDir('tsbuild-robust-')
  busybox = inject('busybox')
}, 300_000)
afterAll(async () => { await rm(work, { recursive: true, force: true }) })

/** A closed pipe shows up as these; none may reach the user. */
function expectNoCrash (stderr: string): void {
  expect(stderr).not.toMatch(/EPIPE|ERR_STREAM|\n\s+at /)
}

describe.skipIf(!isRoot)('closed pipes and killed builds (RUN needs root for runc)', () => {
  let root: string
  let ctx: string

  beforeAll(async () => {
    root = await freshDir('root-', work)
    ctx = await freshDir('ctx-', work)
    // ~400 kB of output: far more than a pipe holds, so a writer blocks until its reader leaves.
    await writeFile(join(ctx, 'Dockerfile'), `FROM ${busybox}\nRUN i=1; while [ $i -le 8000 ]; do echo "a long line of step output, number $i"; i=$((i+1)); done\n`)
    await buildOk(['build', '--progress=plain', '-t', 'robust-logs', ctx], { root })
  })

  test.each([
    ['history logs ^1', ['history', 'logs', '^1']],
    ['history logs ^1 2', ['history', 'logs', '^1', '2']],
    ['save -o - robust-logs', ['save', '-o', '-', 'robust-logs']],
  ])('%s | head -1 exits 0 without a stack trace', async (_name, args) => {
    const { child, done } = spawnTsbuild(args, { root })
    child.stdout!.once('data', () => { child.stdout!.destroy() })
    const r = await done
    expect(r.signal).toBeNull()
    expect(r.code).toBe(0)
    expectNoCrash(r.stderr)
  })

  test('a build whose stderr reader leaves after the first bytes still finishes', async () => {
    const dir = await freshDir('ctx-', work)
    await writeFile(join(dir, 'Dockerfile'), `FROM ${busybox}\nRUN for i in 1 2 3 4 5 6 7 8 9 10; do echo "step line $i"; sleep 0.1; done\nRUN echo second > /second\n`)
    const { child, done } = spawnTsbuild(['build', '--progress=plain', '-t', 'robust-stderr', dir], { root })
    child.stderr!.once('data', () => { child.stderr!.destroy() })
    const r = await done
    expect(r.signal).toBeNull()
    expect(r.code).toBe(0)
    const images = await buildOk(['images'], { root })
    expect(images.stdout).toContain('robust-stderr')
    const last = await buildOk(['history', 'inspect', '^1', '--format', 'json'], { root })
    expect(JSON.parse(last.stdout)).toMatchObject({ name: 'robust-stderr', status: 'completed' })
  })

  test('a build killed with SIGKILL shows as interrupted, with the steps it had finished', async () => {
    const dir = await freshDir('ctx-', work)
    await writeFile(join(dir, 'Dockerfile'), `FROM ${busybox}\nRUN echo before > /before\nRUN echo sleeping && sleep 60\n`)
    const { child, done, stderrSoFar } = spawnTsbuild(['build', '--progress=plain', '-t', 'robust-killed', dir], { root })
    const deadline = Date.now() + 60_000
    while (!stderrSoFar().includes('sleeping') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
    expect(stderrSoFar()).toContain('sleeping')
    await new Promise((resolve) => setTimeout(resolve, 1500)) // the record is saved at most once a second while steps end
    child.kill('SIGKILL')
    expect((await done).signal).toBe('SIGKILL')

    const ls = await buildOk(['history', 'ls'], { root })
    const row = ls.stdout.split('\n').find((l) => l.includes('robust-killed'))
    expect(row).toContain('INTERRUPTED')
    expect(ls.stdout).not.toContain('RUNNING')
    const record = JSON.parse((await buildOk(['history', 'inspect', '^1', '--format', 'json'], { root })).stdout) as { status: string; error: string; steps: Array<{ name: string; status: string }> }
    expect(record.status).toBe('interrupted')
    expect(record.error).toMatch(/process \(pid \d+\) ended/)
    expect(record.steps.find((s) => s.name.includes('echo before'))?.status).toBe('completed')
    expect(record.steps.find((s) => s.name.includes('sleep 60'))?.status).toBe('cancelled')
    const inspect = await runTsbuild(['history', 'inspect', '^1'], { root })
    expect(inspect.stdout).toMatch(/Status:\s+INTERRUPTED/)

    // The next build sweeps what the killed one left (its container and mounts); the record stays interrupted.
    const next = await freshDir('ctx-', work)
    await writeFile(join(next, 'Dockerfile'), `FROM ${busybox}\nRUN true\n`)
    await buildOk(['build', '--progress=plain', next], { root })
    const after = await buildOk(['history', 'ls'], { root })
    expect(after.stdout.split('\n').find((l) => l.includes('robust-killed'))).toContain('INTERRUPTED')
  })
})

describe('--load (tsbuild has no docker daemon)', () => {
  let root: string
  let ctx: string
  beforeAll(async () => {
    root = await freshDir('root-', work)
    ctx = await freshDir('ctx-', work)
    await writeFile(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY a /a\n')
    await writeFile(join(ctx, 'a'), 'a\n')
  })

  test('stores the image in tsbuild\'s own store under its -t name and says where it went', async () => {
    const r = await buildOk(['build', '--progress=plain', '--load', '-t', 'loaded-app', ctx], { root })
    expect(r.stderr).toContain('naming to loaded-app done')
    expect(r.stderr).toContain(`loaded into tsbuild's image store ${root} (there is no docker daemon; see tsbuild images)`)
    expect(r.stderr).not.toContain('type=docker')
    expect((await buildOk(['images'], { root })).stdout).toContain('loaded-app')
  })

  test('beside -o, the image is stored too', async () => {
    const dest = join(await freshDir('out-', work), 'fs')
    const r = await buildOk(['build', '--progress=plain', '--load', '-t', 'loaded-too', '-o', `type=local,dest=${dest}`, ctx], { root })
    expect(r.stderr).toContain('naming to loaded-too done')
    expect((await buildOk(['images'], { root })).stdout).toContain('loaded-too')
    expect(await readFile(join(dest, 'a'), 'utf8')).toBe('a\n')
  })

  test('without -t it is a usage error naming what to add', async () => {
    const r = await runTsbuild(['build', '--load', ctx], { root })
    expect(r.code).toBe(2)
    expect(r.stderr).toBe('ERROR: --load needs -t NAME: tsbuild has no docker daemon, it keeps loaded images by name in its own image store\nhint: add -t NAME (see tsbuild images)\n')
  })
})

describe('-f - (a Dockerfile from stdin)', () => {
  test('an error in it names Dockerfile and shows its lines, not those of a Dockerfile in the context', async () => {
    const ctx = await freshDir('tsb-ctx-')
    await writeFile(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY a b\nCOPY c d\n')
    const r = await runTsbuild(['build', '-f', '-', ctx], { root: await freshDir('tsb-root-'), input: `FROM ${busybox}\nRUNN echo hi\n` })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('ERROR: Dockerfile:2: unknown instruction: RUNN (did you mean RUN?)')
    expect(r.stderr).toContain(' 2 | >>> RUNN echo hi')
    expect(r.stderr).not.toMatch(/COPY|^-:/m)
  })
})
