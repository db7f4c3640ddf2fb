// tsbuild build through the CLI: parallel stages, cache hits and exactly what
// re-runs after a change, --no-cache and --no-cache-filter, cache mounts.
import { execFile } from 'node:child_process'
import { chmod, readdir, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, inject, test } from 'vitest'
import { buildOk, cachedSteps, ensureBuilt, freshDir, logText, parseEvents, ranSteps, vertexEvents, writeContext } from '../helpers/tsbuild.js'

const run = promisify(execFile)

let busybox: string
beforeAll(async () => {
  busybox = inject('busybox')
  await ensureBuilt()
})

const build = async (root: string, ctx: string, ...args: string[]) =>
  parseEvents((await buildOk(['build', '--progress=rawjson', ...args, ctx], { root })).stderr)

describe('tsbuild build: cache', () => {
  test.each([
    ['run in parallel', [] as string[], true],
    ['run one at a time with --max-parallelism 1', ['--max-parallelism', '1'], false],
  ])('independent stages %s', async (_name, extra, overlap) => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: [
        `FROM ${busybox} AS a`,
        'RUN sleep 2 && echo a > /a',
        `FROM ${busybox} AS b`,
        'RUN sleep 2 && echo b > /b',
        `FROM ${busybox}`,
        'COPY --from=a /a /a',
        'COPY --from=b /b /b',
        'RUN cat /a /b',
      ].join('\n'),
    })
    const events = await build(await freshDir('tsb-root-'), ctx, ...extra)
    const vertices = vertexEvents(events)
    const span = (marker: string): [number, number] => {
      const started = vertices.find((e) => e.name.includes(marker) && e.status === 'started')
      const done = vertices.find((e) => e.name.includes(marker) && e.status === 'completed')
      expect(started, marker).toBeDefined()
      expect(done, marker).toBeDefined()
      return [started!.time, done!.time]
    }
    const [aStart, aEnd] = span('echo a > /a')
    const [bStart, bEnd] = span('echo b > /b')
    // Each RUN sleeps 2s: in parallel they share most of that; one at a time they share at
    // most the moment between one step's slot release and its completion event.
    const shared = Math.min(aEnd, bEnd) - Math.max(aStart, bStart)
    if (overlap) expect(shared).toBeGreaterThan(1000)
    else expect(shared).toBeLessThan(500)
    expect(logText(events)).toContain('a\nb\n')
  })

  describe('rebuilds', () => {
    const dockerfile = (from: string) => [
      `FROM ${from}`,
      'COPY a.txt /a.txt',
      'RUN cat /a.txt > /from-a',
      'COPY b.txt /b.txt',
      'RUN cat /a.txt /b.txt > /both',
    ].join('\n')
    let root: string
    let ctx: string
    beforeAll(async () => {
      root = await freshDir('tsb-root-')
      ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: dockerfile(busybox), 'a.txt': 'a1\n', 'b.txt': 'b1\n' })
      const first = await build(root, ctx)
      expect(ranSteps(first).filter(isStep)).toHaveLength(4)
    })
    const isStep = (name: string): boolean => /\b(COPY|RUN)\b/.test(name)
    const instructions = (names: string[]): string[] => names.filter(isStep).map((n) => n.replace(/^\[[^\]]*\]\s*/, '')).sort()

    test('an unchanged rebuild hits the cache for every step', async () => {
      const events = await build(root, ctx)
      expect(instructions(ranSteps(events))).toEqual([])
      expect(instructions(cachedSteps(events))).toEqual(instructions(['COPY a.txt /a.txt', 'RUN cat /a.txt > /from-a', 'COPY b.txt /b.txt', 'RUN cat /a.txt /b.txt > /both']))
    })

    test('after b.txt changes only its COPY and the steps after it run again', async () => {
      await writeFile(join(ctx, 'b.txt'), 'b2\n')
      const events = await build(root, ctx)
      expect(instructions(ranSteps(events))).toEqual(['COPY b.txt /b.txt', 'RUN cat /a.txt /b.txt > /both'])
      expect(instructions(cachedSteps(events))).toEqual(['COPY a.txt /a.txt', 'RUN cat /a.txt > /from-a'])
    })

    test('touching a file (new mtime, same content) keeps every step cached', async () => {
      const later = new Date(Date.now() + 60_000)
      await utimes(join(ctx, 'a.txt'), later, later)
      const events = await build(root, ctx)
      expect(instructions(ranSteps(events))).toEqual([])
    })

    test('a changed file mode re-runs its COPY and what follows', async () => {
      await chmod(join(ctx, 'a.txt'), 0o755)
      const events = await build(root, ctx)
      expect(instructions(ranSteps(events))).toEqual(instructions(['COPY a.txt /a.txt', 'RUN cat /a.txt > /from-a', 'COPY b.txt /b.txt', 'RUN cat /a.txt /b.txt > /both']))
    })

    test('--no-cache runs every step', async () => {
      const events = await build(root, ctx, '--no-cache')
      expect(instructions(ranSteps(events))).toHaveLength(4)
      expect(instructions(cachedSteps(events))).toEqual([])
    })

    test('--no-cache-filter runs the named stage only', async () => {
      const multi = await writeContext(await freshDir('tsb-ctx-'), {
        Dockerfile: [
          `FROM ${busybox} AS base`, 'RUN echo base > /base',
          'FROM base AS final', 'RUN echo final > /final',
        ].join('\n'),
      })
      await build(root, multi)
      const events = await build(root, multi, '--no-cache-filter', 'final')
      expect(instructions(ranSteps(events))).toEqual(['RUN echo final > /final'])
      expect(instructions(cachedSteps(events))).toEqual(['RUN echo base > /base'])
    })
  })

  test('COPY . re-runs only for files the context keeps: .dockerignore\'d changes stay cached', async () => {
    const root = await freshDir('tsb-root-')
    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: `FROM ${busybox}\nCOPY . /app\nRUN ls /app > /listing\n`,
      '.dockerignore': '*.log\nbuild/\n',
      'main.txt': 'main\n',
      'debug.log': 'one\n',
      'build/out.bin': 'x',
    })
    await build(root, ctx)
    await writeFile(join(ctx, 'debug.log'), 'two\n')
    await writeFile(join(ctx, 'build/new.bin'), 'y')
    const ignored = await build(root, ctx)
    expect(ranSteps(ignored).filter((n) => /COPY|RUN/.test(n))).toEqual([])
    await writeFile(join(ctx, 'main.txt'), 'main2\n')
    const changed = await build(root, ctx)
    expect(ranSteps(changed).filter((n) => /COPY|RUN/.test(n)).length).toBe(2)
    const dest = join(await freshDir('tsb-out-'), 'fs')
    await build(root, ctx, '-o', `type=local,dest=${dest}`)
    expect((await readdir(join(dest, 'app'))).sort()).toEqual(['.dockerignore', 'Dockerfile', 'main.txt'])
  })

  test('a cache mount keeps its files across builds', async () => {
    const root = await freshDir('tsb-root-')
    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: [
        `FROM ${busybox}`,
        'ARG RUN_ID',
        'RUN --mount=type=cache,target=/cache,id=counter echo "run $RUN_ID" >> /cache/log && cat /cache/log',
      ].join('\n'),
    })
    const first = await build(root, ctx, '--build-arg', 'RUN_ID=1')
    expect(logText(first)).toContain('run 1\n')
    const second = await build(root, ctx, '--build-arg', 'RUN_ID=2')
    expect(logText(second)).toContain('run 1\nrun 2\n')
  })

  test('COPY --link does not depend on the layers below it: its copy stays cached and its layer blob is reused when an earlier step changes', async () => {
    const root = await freshDir('tsb-root-')
    const out = await freshDir('tsb-out-')
    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: [
        `FROM ${busybox}`,
        'ARG V',
        'RUN echo "$V" > /v',
        'COPY --link linked.txt /linked.txt',
        'COPY plain.txt /plain.txt',
      ].join('\n'),
      'linked.txt': 'linked\n',
      'plain.txt': 'plain\n',
    })
    const layersOf = async (tar: string): Promise<string[]> =>
      (JSON.parse((await run('skopeo', ['inspect', `oci-archive:${tar}`])).stdout) as { Layers: string[] }).Layers
    await build(root, ctx, '--build-arg', 'V=1', '-o', `type=oci,dest=${join(out, '1.tar')}`)
    const events = await build(root, ctx, '--build-arg', 'V=2', '-o', `type=oci,dest=${join(out, '2.tar')}`)
    const strip = (n: string): string => n.replace(/^\[[^\]]*\]\s*/, '')
    expect(ranSteps(events).map(strip)).toEqual(expect.arrayContaining(['RUN echo "2" > /v', 'COPY plain.txt /plain.txt']))
    // The copy onto its own empty layer is cached; only the (cheap) merge onto the new RUN layer runs.
    expect(cachedSteps(events).map(strip)).toContain('COPY --link linked.txt /linked.txt')
    const [one, two] = [await layersOf(join(out, '1.tar')), await layersOf(join(out, '2.tar'))]
    expect(one).toHaveLength(4)
    expect(two[0]).toBe(one[0])
    expect(two[1]).not.toBe(one[1])
    expect(two[2]).toBe(one[2])
  })
})
