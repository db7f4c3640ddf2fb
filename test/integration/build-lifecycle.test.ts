// tsbuild build interrupted and concurrent: kill -9 mid-RUN then a clean
// rebuild, SIGINT mid-RUN, and builds at once on one state dir (a step two
// of them reach together runs once).
import { execFile } from 'node:child_process'
import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, inject, test } from 'vitest'
import { buildOk, cachedSteps, ensureBuilt, freshDir, logText, parseEvents, ranSteps, spawnTsbuild, writeContext } from '../helpers/tsbuild.js'

const run = promisify(execFile)

let busybox: string
beforeAll(async () => {
  busybox = inject('busybox')
  await ensureBuilt()
})

/** Host mount points under `dir` (from the mount table this process sees). */
async function mountsUnder (dir: string): Promise<string[]> {
  const table = await readFile('/proc/self/mountinfo', 'utf8')
  return table.split('\n').map((l) => l.split(' ')[4] ?? '').filter((m) => m === dir || m.startsWith(dir + '/'))
}

async function runcContainers (root: string): Promise<string[]> {
  const { stdout } = await run('runc', ['--root', join(root, 'runc'), 'list', '-q']).catch(() => ({ stdout: '' }))
  return stdout.split('\n').filter((l) => l !== '')
}

/** Processes whose command line is exactly `sleep <marker>` (the RUN we interrupt). */
async function sleepers (marker: string): Promise<number[]> {
  const { stdout } = await run('ps', ['-eo', 'pid=,args='])
  return stdout.split('\n').filter((l) => l.trim().endsWith(`sleep ${marker}`)).map((l) => Number(l.trim().split(' ')[0]))
}

/** Start a build whose RUN sleeps; resolve once that RUN has started and its sandbox is up. */
async function startSleepingBuild (root: string, seconds: string, extraArgs: string[] = []) {
  const ctx = await writeContext(await freshDir('tsb-ctx-'), {
    // The locked cache mount must not stay locked by a killed build, nor stay mounted.
    Dockerfile: `FROM ${busybox}\nARG SECONDS\nRUN --mount=type=cache,target=/c,id=interrupted,sharing=locked echo start && sleep $SECONDS\n`,
  })
  const build = spawnTsbuild(['build', '--progress=plain', '--build-arg', `SECONDS=${seconds}`, ...extraArgs, ctx], { root })
  const deadline = Date.now() + 60_000
  while (!/#\d+ [\d.]+ start$/m.test(build.stderrSoFar()) || (await sleepers(seconds)).length === 0) {
    if (Date.now() > deadline) throw new Error(`the RUN never started:\n${build.stderrSoFar()}`)
    if (build.child.exitCode !== null) throw new Error(`tsbuild exited early:\n${build.stderrSoFar()}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return { ...build, ctx }
}

describe('interrupted builds', () => {
  test('kill -9 in the middle of a RUN, then a rebuild on the same state dir succeeds and leaves nothing behind', async () => {
    const root = await freshDir('tsb-root-')
    const first = await startSleepingBuild(root, '31')
    first.child.kill('SIGKILL')
    expect((await first.done).signal).toBe('SIGKILL')
    // What the killed process could not clean up: its container (still sleeping) and its mounts.
    expect(await runcContainers(root)).toHaveLength(1)
    expect((await mountsUnder(root)).length).toBeGreaterThan(0)

    const r = await buildOk(['build', '--progress=plain', '--build-arg', 'SECONDS=0', first.ctx], { root })
    expect(r.stderr).toMatch(/#\d+ [\d.]+ start$/m)
    expect(await runcContainers(root)).toEqual([])
    expect(await mountsUnder(root)).toEqual([])
    expect(await sleepers('31')).toEqual([])
    expect(await readdir(join(root, 'executor')).catch(() => [])).toEqual([])
  })

  test.each([
    ['the host platform', '32', []],
    ['linux/arm64 under qemu', '34', ['--platform', 'linux/arm64']],
  ])('SIGINT during a RUN for %s exits 130 with the container stopped and its mounts gone', async (_name, seconds, extra) => {
    const root = await freshDir('tsb-root-')
    const build = await startSleepingBuild(root, seconds, extra)
    build.child.kill('SIGINT')
    const r = await build.done
    expect(r.code, r.stderr).toBe(130)
    expect(await runcContainers(root)).toEqual([])
    expect(await mountsUnder(root)).toEqual([])
    expect(await sleepers(seconds)).toEqual([])
  })
})

describe('a failure in one stage', () => {
  test('cancels a parallel stage\'s RUN, stops its container and releases its mounts', async () => {
    const root = await freshDir('tsb-root-')
    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: [
        `FROM ${busybox} AS slow`, 'RUN sleep 33',
        `FROM ${busybox} AS failing`, 'RUN sleep 1 && exit 4',
        `FROM ${busybox}`, 'COPY --from=slow /etc/hostname /a', 'COPY --from=failing /etc/hostname /b',
      ].join('\n'),
    })
    const started = Date.now()
    const r = await spawnTsbuild(['build', '--progress=plain', ctx], { root }).done
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/exit code:? 4/)
    expect(Date.now() - started).toBeLessThan(20_000)
    expect(await sleepers('33')).toEqual([])
    expect(await runcContainers(root)).toEqual([])
    expect(await mountsUnder(root)).toEqual([])
  })
})

describe('concurrent builds', () => {
  test('a build starting while another runs a RUN leaves that live container alone', async () => {
    const root = await freshDir('tsb-root-')
    const running = await startSleepingBuild(root, '3')
    const other = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN echo other\n` })
    await buildOk(['build', other], { root })
    const r = await running.done
    expect(r.code, r.stderr).toBe(0)
  })

  test('two builds at once on one state dir both succeed with their own results', async () => {
    const root = await freshDir('tsb-root-')
    const make = async (name: string) => await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: `FROM ${busybox}\nRUN echo shared > /shared && sleep 1\nCOPY name.txt /name.txt\nRUN cat /shared /name.txt > /out\n`,
      'name.txt': `${name}\n`,
    })
    const [a, b] = await Promise.all([make('alpha'), make('beta')])
    const out = await freshDir('tsb-out-')
    await Promise.all([
      buildOk(['build', '-t', 'alpha', '-o', `type=local,dest=${join(out, 'a')}`, a], { root }),
      buildOk(['build', '-t', 'beta', '-o', `type=local,dest=${join(out, 'b')}`, b], { root }),
    ])
    expect(await readFile(join(out, 'a/out'), 'utf8')).toBe('shared\nalpha\n')
    expect(await readFile(join(out, 'b/out'), 'utf8')).toBe('shared\nbeta\n')
    // Both tags are stored even though each build wrote index.json at the same time.
    await buildOk(['build', '-t', 'alpha', a], { root })
    await buildOk(['build', '-t', 'beta', b], { root })
    const index = JSON.parse(await readFile(join(root, 'index.json'), 'utf8')) as { manifests: Array<{ annotations?: Record<string, string> }> }
    const names = index.manifests.flatMap((m) => Object.values(m.annotations ?? {}))
    expect(names.some((n) => n.includes('alpha'))).toBe(true)
    expect(names.some((n) => n.includes('beta'))).toBe(true)
    expect(await mountsUnder(root)).toEqual([])
  })

  test('three builds of the same Dockerfile at once race for the same cache keys and all succeed', async () => {
    const root = await freshDir('tsb-root-')
    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: `FROM ${busybox}\nCOPY f.txt /f.txt\nRUN sleep 1 && cat /f.txt > /g.txt\nCOPY --link f.txt /h.txt\n`,
      'f.txt': 'same\n',
    })
    const out = await freshDir('tsb-out-')
    const results = await Promise.all(['a', 'b', 'c'].map(async (n) =>
      await buildOk(['build', '-t', 'same', '-o', `type=local,dest=${join(out, n)}`, ctx], { root })))
    expect(results.every((r) => r.code === 0)).toBe(true)
    for (const n of ['a', 'b', 'c']) {
      expect(await readFile(join(out, n, 'g.txt'), 'utf8')).toBe('same\n')
      expect(await readFile(join(out, n, 'h.txt'), 'utf8')).toBe('same\n')
    }
    const again = parseEvents((await buildOk(['build', '--progress=rawjson', '-t', 'same', ctx], { root })).stderr)
    expect(ranSteps(again).filter((n) => /^\[\d+\/\d+\]/.test(n))).toEqual([])
    expect(cachedSteps(again).filter((n) => /^\[\d+\/\d+\]/.test(n)).length).toBeGreaterThanOrEqual(4)
    expect(await mountsUnder(root)).toEqual([])
  })

  /** A build whose first RUN records a fresh random id and takes a while; the second RUN reads it. */
  async function stampContext (seconds: string) {
    return await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: `FROM ${busybox}\nRUN cat /proc/sys/kernel/random/uuid > /id && echo start && sleep ${seconds}\nRUN cp /id /id2\n`,
    })
  }

  /** Wait until a running build's stderr matches `pattern`; fails if it exits first. */
  async function waitForOutput (build: ReturnType<typeof spawnTsbuild>, pattern: RegExp): Promise<void> {
    while (!pattern.test(build.stderrSoFar())) {
      if (build.child.exitCode !== null) throw new Error(`tsbuild exited early:\n${build.stderrSoFar()}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  const STARTED = /#\d+ [\d.]+ start$/m
  const WAITING = /waiting for its result/

  test('two builds reaching the same step at once run it once: the second waits and takes the first one\'s result', async () => {
    const root = await freshDir('tsb-root-')
    const ctx = await stampContext('2')
    const out = await freshDir('tsb-out-')
    const first = spawnTsbuild(['build', '--progress=plain', '-o', `type=local,dest=${join(out, 'a')}`, ctx], { root })
    await waitForOutput(first, STARTED)
    const second = await buildOk(['build', '--progress=rawjson', '-o', `type=local,dest=${join(out, 'b')}`, ctx], { root })
    expect((await first.done).code).toBe(0)
    const id = await readFile(join(out, 'a/id'), 'utf8')
    expect(await readFile(join(out, 'b/id'), 'utf8')).toBe(id)
    expect(await readFile(join(out, 'b/id2'), 'utf8')).toBe(id)
    const events = parseEvents(second.stderr)
    expect(ranSteps(events).filter((n) => n.includes('RUN'))).toEqual([])
    expect(logText(events)).toMatch(/another tsbuild build \(pid \d+\) is running this step; waiting for its result/)
    expect(await readdir(join(root, 'locks'))).not.toContainEqual(expect.stringMatching(/^key-/))
  })

  test('a build waiting on a step whose build was killed with -9 runs the step itself', async () => {
    const root = await freshDir('tsb-root-')
    const ctx = await stampContext('7')
    const first = spawnTsbuild(['build', '--progress=plain', ctx], { root })
    await waitForOutput(first, STARTED)
    const second = spawnTsbuild(['build', '--progress=plain', ctx], { root })
    await waitForOutput(second, WAITING)
    first.child.kill('SIGKILL')
    await first.done
    // The killed build's container sleeps on; the waiting build must not wait for it.
    for (const pid of await sleepers('7')) process.kill(pid, 'SIGKILL')
    const r = await second.done
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/#\d+ [\d.]+ start$/m)
    // The next build sweeps what the killed one left (its sandbox's mounts): nothing stays mounted.
    await buildOk(['build', ctx], { root })
    expect(await mountsUnder(root)).toEqual([])
  })

  test('Ctrl-C while waiting for another build\'s step exits 130 at once and leaves that build running', async () => {
    const root = await freshDir('tsb-root-')
    const ctx = await stampContext('4')
    const first = spawnTsbuild(['build', '--progress=plain', ctx], { root })
    await waitForOutput(first, STARTED)
    const second = spawnTsbuild(['build', '--progress=plain', ctx], { root })
    await waitForOutput(second, WAITING)
    const interrupted = Date.now()
    second.child.kill('SIGINT')
    const r = await second.done
    expect(r.code, r.stderr).toBe(130)
    expect(Date.now() - interrupted).toBeLessThan(3_000)
    expect(r.stderr).toMatch(/#\d+ CANCELED/)
    expect((await first.done).code).toBe(0)
    expect(await mountsUnder(root)).toEqual([])
  })

  test('a sharing=locked cache mount is used by one build at a time across processes', async () => {
    const root = await freshDir('tsb-root-')
    const make = async (name: string) => await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: [
        `FROM ${busybox}`,
        `RUN --mount=type=cache,target=/c,id=shared-lock,sharing=locked sh -c 'test ! -e /c/busy && touch /c/busy && sleep 1 && echo ${name} >> /c/log && rm /c/busy'`,
        'RUN --mount=type=cache,target=/c,id=shared-lock,sharing=locked cat /c/log',
      ].join('\n'),
    })
    const [a, b] = await Promise.all([make('alpha'), make('beta')])
    await Promise.all([buildOk(['build', a], { root }), buildOk(['build', b], { root })])
    const c = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: `FROM ${busybox}\nRUN --mount=type=cache,target=/c,id=shared-lock,sharing=locked sort /c/log\n`,
    })
    const r = await buildOk(['build', '--progress=plain', c], { root })
    expect(r.stderr).toMatch(/#\d+ [\d.]+ alpha\n#\d+ [\d.]+ beta\n/)
  })
})
