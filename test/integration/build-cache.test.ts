// tsbuild build through the CLI: parallel stages, cache hits and exactly what
// re-runs after a change, --no-cache and --no-cache-filter, cache mounts.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, inject, test } from 'vitest'
import { buildOk, cachedSteps, ensureBuilt, freshDir, logText, parseEvents, ranSteps, vertexEvents, writeContext } from '../helpers/tsbuild.js'

let busybox: string
beforeAll(async () => {
  busybox = inject('busybox')
  await ensureBuilt()
})

const build = async (root: string, ctx: string, ...args: string[]) =>
  parseEvents((await buildOk(['build', '--progress=rawjson', ...args, ctx], { root })).stderr)

describe('tsbuild build: cache', () => {
  test('independent stages run in parallel', async () => {
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
    const events = await build(await freshDir('tsb-root-'), ctx)
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
    expect(aStart).toBeLessThan(bEnd)
    expect(bStart).toBeLessThan(aEnd)
    expect(logText(events)).toContain('a\nb\n')
  })
})
