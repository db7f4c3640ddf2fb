// --no-cache-filter on a stage that is not the target: that stage's steps run
// again, and so does every step built on their output, however it reaches them
// (COPY --from, or FROM the stage); a later build without the filter hits again.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, inject, test } from 'vitest'
import { buildOk, ensureBuilt, freshDir, writeContext } from '../helpers/tsbuild.js'

let busybox: string
beforeAll(async () => {
  busybox = inject('busybox')
  await ensureBuilt()
})

interface StepOutcome { cached: boolean; done: boolean; missReason?: string; log: string[] }

/** What `--progress plain` said about the step whose name contains `instruction`. */
function outcome (plain: string, instruction: string): StepOutcome {
  const lines = plain.split('\n')
  const header = lines.map((l) => /^#(\d+) (\[.*)$/.exec(l)).find((m) => m !== null && m[2]!.includes(instruction))
  if (header == null) throw new Error(`no step "${instruction}" in:\n${plain}`)
  const own = lines.filter((l) => l.startsWith(`#${header[1]} `)).map((l) => l.slice(header[1]!.length + 2))
  const miss = own.find((l) => l.startsWith('cache miss: '))
  return {
    cached: own.includes('CACHED'),
    done: own.some((l) => l.startsWith('DONE')),
    ...(miss !== undefined ? { missReason: miss.slice('cache miss: '.length) } : {}),
    log: own.filter((l) => /^\d+\.\d{3} /.test(l)).map((l) => l.replace(/^\S+ /, '')),
  }
}

// The filtered step writes a fresh random value, so each run of it gives another file
// (busybox's date has no %N, and two builds can fall in the same second).
const cases = [
  {
    name: 'COPY --from=base',
    dockerfile: (from: string) => [`FROM ${from} AS base`, 'RUN cat /proc/sys/kernel/random/uuid > /out', `FROM ${from}`, 'COPY --from=base /out /out', 'RUN cat /out'],
    dependants: ['COPY --from=base /out /out', 'RUN cat /out'],
  },
  {
    name: 'FROM base AS second',
    dockerfile: (from: string) => [`FROM ${from} AS base`, 'RUN cat /proc/sys/kernel/random/uuid > /out', 'FROM base AS second', 'RUN cat /out'],
    dependants: ['RUN cat /out'],
  },
]

describe('--no-cache-filter on a stage the target depends on', () => {
  test.each(cases)('$name: the stage and what uses it run again, the result changes', async ({ dockerfile, dependants }) => {
    const root = await freshDir('tsb-root-')
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: dockerfile(busybox).join('\n') + '\n' })
    const build = async (...args: string[]) => {
      const dest = join(await freshDir('tsb-out-'), 'fs')
      const r = await buildOk(['build', '--progress=plain', '-o', `type=local,dest=${dest}`, ...args, ctx], { root })
      return { plain: r.stderr, out: await readFile(join(dest, 'out'), 'utf8') }
    }

    const first = await build()
    const cachedBuild = await build()
    expect(cachedBuild.out).toBe(first.out)
    expect(outcome(cachedBuild.plain, 'RUN cat /proc').cached).toBe(true)

    const filtered = await build('--no-cache-filter', 'base')
    expect(filtered.out).not.toBe(first.out)
    const baseRun = outcome(filtered.plain, 'RUN cat /proc')
    expect(baseRun).toMatchObject({ cached: false, done: true })
    expect(baseRun.missReason).toMatch(/no-cache/)
    for (const step of dependants) {
      expect(outcome(filtered.plain, step), step).toMatchObject({ cached: false, done: true, missReason: 'parent step re-ran' })
    }
    // The final RUN printed the new file, not the first build's.
    expect(outcome(filtered.plain, 'RUN cat /out').log).toEqual([filtered.out.trim()])
    // FROM is outside what the filter touches (the base image is not re-resolved as a step).
    expect(filtered.plain).toMatch(/#\d+ \[[^\]]+ 1\/\d\] FROM .*\n#\d+ CACHED\n/)

    // The re-run steps recorded their results: without the filter everything hits, with the new output.
    const after = await build()
    expect(after.out).toBe(filtered.out)
    for (const step of ['RUN cat /proc', ...dependants]) expect(outcome(after.plain, step).cached, step).toBe(true)
  })
})
