// Cache-miss explanations through the CLI: the started event's missReason and `build --explain`.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, inject, test } from 'vitest'
import { buildOk, ensureBuilt, freshDir, parseEvents, runTsbuild, vertexEvents, writeContext } from '../helpers/tsbuild.js'

let busybox: string
beforeAll(async () => {
  busybox = inject('busybox')
  await ensureBuilt()
})

describe('tsbuild build: why a step missed the cache', () => {
  let root: string
  let ctx: string
  const dockerfile = (cmd: string) => [
    `FROM ${busybox}`,
    'ARG VERSION=1',
    'COPY src/ /src/',
    'RUN echo "$VERSION" > /version',
    `RUN ${cmd}`,
  ].join('\n')
  const reasons = async (...args: string[]): Promise<Record<string, string>> => {
    const events = parseEvents((await buildOk(['build', '--progress=rawjson', ...args, ctx], { root })).stderr)
    const out: Record<string, string> = {}
    // Keyed `RUN 3` (instruction and step number): names show the expanded command, which changes with the args.
    for (const e of vertexEvents(events)) {
      const m = /^\[[^\]]*?(\d+)\/\d+\]\s*(COPY|RUN)\b/.exec(e.name)
      if (e.status === 'started' && m !== null) out[`${m[2]} ${m[1]}`] = e.missReason ?? ''
    }
    return out
  }

  beforeAll(async () => {
    root = await freshDir('tsb-explain-root-')
    const files: Record<string, string> = { Dockerfile: dockerfile('ls /src > /listing') }
    for (let i = 0; i < 6; i++) files[`src/f${i}.ts`] = `export const v = ${i}\n`
    ctx = await writeContext(await freshDir('tsb-explain-ctx-'), files)
  })

  test('first build, changed files, build arg, instruction, --no-cache', async () => {
    expect(Object.values(await reasons())).toEqual(['first build', 'first build', 'first build'])

    for (const i of [1, 3, 4, 5]) await writeFile(join(ctx, 'src', `f${i}.ts`), `export const v = ${i * 10}\n`)
    expect(await reasons()).toEqual({
      'COPY 2': 'files changed under COPY src/: src/f1.ts, src/f3.ts, src/f4.ts (+1 more)',
      'RUN 3': 'parent step re-ran',
      'RUN 4': 'parent step re-ran',
    })

    expect(await reasons('--build-arg', 'VERSION=2')).toEqual({
      'RUN 3': 'build arg VERSION changed',
      'RUN 4': 'build arg VERSION changed',
    })

    await writeFile(join(ctx, 'Dockerfile'), dockerfile('ls -l /src > /listing'))
    expect(await reasons('--build-arg', 'VERSION=2')).toEqual({ 'RUN 4': 'instruction changed' })

    expect(Object.values(await reasons('--build-arg', 'VERSION=2', '--no-cache')).every((r) => r === '--no-cache')).toBe(true)
  })

  test('--explain prints every step with old and new values', async () => {
    const out = (await buildOk(['build', '--progress=plain', '--explain', '--build-arg', 'VERSION=3', ctx], { root })).stderr
    const report = out.slice(out.indexOf('cache explanation:'))
    expect(report).toMatch(/^cache explanation: compared with the build of \d{4}-\d\d-\d\dT/)
    expect(report).toMatch(/^HIT {2}\[[^\]]*\] COPY src\/ \/src\/$/m)
    expect(report).toMatch(/^MISS \[[^\]]*\] RUN echo "3" > \/version: build arg VERSION changed$/m)
    expect(report).toMatch(/^MISS \[internal\] load build context: never cached \(runs on every build\)$/m)
    expect(report).toMatch(/^ {7}build arg VERSION: 2 → 3$/m)
  })

  test('a step the last build failed at is said to be unfinished, and an ARG default change is a build arg change', async () => {
    const root2 = await freshDir('tsb-explain-root-')
    const ctx2 = await writeContext(await freshDir('tsb-explain-ctx-'), { Dockerfile: [`FROM ${busybox}`, 'ARG MODE=a', 'RUN echo "$MODE"; exit 3'].join('\n') })
    const first = await runTsbuild(['build', '--progress=rawjson', ctx2], { root: root2 })
    expect(first.code).toBe(1)
    const again = await runTsbuild(['build', '--progress=rawjson', ctx2], { root: root2 })
    const started = vertexEvents(parseEvents(again.stderr)).filter((e) => e.status === 'started' && e.name.includes('RUN'))
    expect(started.map((e) => e.missReason)).toEqual(['the last build did not finish this step (it failed or was cancelled)'])
    await writeFile(join(ctx2, 'Dockerfile'), [`FROM ${busybox}`, 'ARG MODE=b', 'RUN echo "$MODE"; exit 3'].join('\n'))
    const changed = await runTsbuild(['build', '--progress=rawjson', ctx2], { root: root2 })
    const reason = vertexEvents(parseEvents(changed.stderr)).find((e) => e.status === 'started' && e.name.includes('RUN'))?.missReason
    expect(reason).toBe('build arg MODE changed')
  })
})
