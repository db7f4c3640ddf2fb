// COPY --from=<stage> is keyed by the content it copies: when the stage
// re-runs but the copied files come out the same, the COPY and every step
// after it stay cached; when they differ, they run again.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, inject, test } from 'vitest'
import { buildOk, cachedSteps, ensureBuilt, freshDir, parseEvents, ranSteps, writeContext } from '../helpers/tsbuild.js'

let busybox: string
beforeAll(async () => {
  busybox = inject('busybox')
  await ensureBuilt()
})

describe('COPY --from=<stage> is content-keyed', () => {
  let root: string
  let ctx: string
  let out: string
  const build = async (name: string, ...args: string[]) => {
    const r = await buildOk(['build', '--progress=rawjson', ...args, '-o', `type=local,dest=${join(out, name)}`, ctx], { root })
    return parseEvents(r.stderr)
  }
  const has = (steps: string[], marker: string) => steps.some((s) => s.includes(marker))

  beforeAll(async () => {
    root = await freshDir('tsb-root-')
    out = await freshDir('tsb-out-')
    ctx = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: [
        `FROM ${busybox} AS a`,
        'ARG V=1',
        'ARG OUT=same',
        'RUN echo $V > /version && mkdir /app && echo $OUT > /app/out.txt && ln -s out.txt /app/link',
        `FROM ${busybox}`,
        'COPY --from=a /app /app',
        'RUN cat /app/out.txt > /copied',
        '',
      ].join('\n'),
    })
    await build('first')
  })

  test('the stage re-runs with the same output: the COPY and the steps after it are cached', async () => {
    const events = await build('same', '--build-arg', 'V=2')
    expect(has(ranSteps(events), 'RUN echo 2 > /version')).toBe(true)
    expect(has(cachedSteps(events), 'COPY --from=a /app /app')).toBe(true)
    expect(has(cachedSteps(events), 'cat /app/out.txt')).toBe(true)
    expect(has(ranSteps(events), 'COPY --from=a')).toBe(false)
    expect(await readFile(join(out, 'same/copied'), 'utf8')).toBe('same\n')
  })

  test('the stage re-runs with different output: the COPY and the steps after it run', async () => {
    const events = await build('other', '--build-arg', 'OUT=other')
    expect(has(ranSteps(events), 'COPY --from=a /app /app')).toBe(true)
    expect(has(ranSteps(events), 'cat /app/out.txt')).toBe(true)
    expect(await readFile(join(out, 'other/copied'), 'utf8')).toBe('other\n')
  })

  test('a rebuild with nothing changed runs nothing', async () => {
    const events = await build('again', '--build-arg', 'OUT=other')
    expect(ranSteps(events)).toEqual([])
    expect(await readFile(join(out, 'again/copied'), 'utf8')).toBe('other\n')
  })
})
