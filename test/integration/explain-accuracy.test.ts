// Cache-miss reasons must be true: compared only with the last build of the same
// Dockerfile, naming the instruction as written, and naming a heredoc's change.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, inject, test } from 'vitest'
import { buildOk, ensureBuilt, freshDir, parseEvents, vertexEvents, writeContext } from '../helpers/tsbuild.js'

let busybox: string
beforeAll(async () => {
  busybox = inject('busybox')
  await ensureBuilt()
})

/** Each step that ran, by name without its `[N/M]` prefix, with its miss reason. */
const reasons = async (args: string[], root: string, input?: string): Promise<Record<string, string>> => {
  const events = parseEvents((await buildOk(['build', '--progress=rawjson', ...args], { root, ...(input !== undefined ? { input } : {}) })).stderr)
  const out: Record<string, string> = {}
  for (const e of vertexEvents(events)) {
    if (e.status === 'started' && e.missReason !== undefined) out[e.name.replace(/^\[\d+\/\d+\]\s*/, '')] = e.missReason
  }
  return out
}

describe('cache-miss reasons say what is true', () => {
  test('a Dockerfile from stdin is not compared with a different one from stdin', async () => {
    const root = await freshDir('tsb-explain-acc-root-')
    const ctx = await writeContext(await freshDir('tsb-explain-acc-ctx-'), { 'a.txt': 'a' })
    const withEnv = `FROM ${busybox}\nENV H=1\nRUN echo stdin-${Date.now()} > /a\n`
    const withoutEnv = `FROM ${busybox}\nRUN echo stdin-other-${Date.now()} > /a\n`
    await reasons(['-f', '-', ctx], root, withEnv)
    const second = await reasons(['-f', '-', ctx], root, withoutEnv)
    expect(Object.values(second).join('\n')).not.toMatch(/ENV H/)
    expect(Object.values(second)).toContain('first build')
    // The same Dockerfile again from stdin still compares with its last build.
    const again = await buildOk(['build', '--progress=plain', '--explain', '-f', '-', ctx], { root, input: withoutEnv })
    expect(again.stderr).toMatch(/cache explanation: compared with the build of /)
  })

  test('ADD names ADD, not COPY', async () => {
    const root = await freshDir('tsb-explain-acc-root-')
    const ctx = await writeContext(await freshDir('tsb-explain-acc-ctx-'), {
      Dockerfile: `FROM ${busybox}\nADD data.txt /\n`,
      'data.txt': '1',
    })
    await reasons([ctx], root)
    await writeFile(join(ctx, 'data.txt'), '2')
    expect(await reasons([ctx], root)).toMatchObject({ 'ADD data.txt /': 'files changed under ADD data.txt: data.txt' })
  })

  test('a heredoc COPY whose document changed says so, not "parent step re-ran"', async () => {
    const root = await freshDir('tsb-explain-acc-root-')
    const dockerfile = (text: string): string => `FROM ${busybox}\nRUN echo base > /b\nCOPY <<EOF /f\n${text}\nEOF\n`
    const ctx = await writeContext(await freshDir('tsb-explain-acc-ctx-'), { Dockerfile: dockerfile('hello') })
    const first = await reasons([ctx], root)
    expect(first['COPY <<EOF /f']).toBe('first build')
    await writeFile(join(ctx, 'Dockerfile'), dockerfile('hello again'))
    const second = await reasons([ctx], root)
    expect(second['RUN echo base > /b']).toBeUndefined() // it hit the cache
    expect(second['COPY <<EOF /f']).toBe('heredoc <<EOF changed')
    expect(second['[internal] preparing inline document']).toBe('heredoc <<EOF changed')
  })
})
