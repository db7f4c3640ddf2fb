import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, expect, test } from 'vitest'
import { HistoryStore } from '../../cache/history/index.js'
import type { Digest } from '../../common/digest.js'
import { TsbuildError } from '../../common/errors.js'
import { HistoryRecorder } from './recorder.js'

const dirs: string[] = []
afterEach(async () => { for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true }) })

const A = 'sha256:aaaa' as Digest
const B = 'sha256:bbbb' as Digest
const request = { context: '/ctx', dockerfile: 'Dockerfile', platforms: [], tags: ['app'], outputs: [], push: false, noCache: false, buildArgs: {}, secretIds: ['tok'], sshIds: [] }

async function recorder (): Promise<{ store: HistoryStore; rec: HistoryRecorder }> {
  const d = await mkdtemp(join(tmpdir(), 'tsbuild-recorder-'))
  dirs.push(d)
  const store = new HistoryStore(d)
  return { store, rec: await HistoryRecorder.start(store, { name: 'app', request, now: 1000 }) }
}

test('keeps every byte of each step log and numbers steps as plain progress does', async () => {
  const { store, rec } = await recorder()
  const big = 'x'.repeat(100_000) + '\n'
  rec.handle({ type: 'vertex', digest: A, name: '[1/2] FROM busybox', status: 'cached', time: 1100 })
  rec.handle({ type: 'vertex', digest: B, name: '[2/2] RUN make', status: 'started', time: 1200, missReason: 'no cache record for this step' })
  for (let i = 0; i < 30; i++) rec.handle({ type: 'log', digest: B, stream: 1, data: Buffer.from(`line ${i}\n`), time: 1300 })
  rec.handle({ type: 'log', digest: B, stream: 2, data: Buffer.from(big), time: 1300 })
  rec.handle({ type: 'vertex', digest: B, name: '[2/2] RUN make', status: 'completed', time: 1700 })
  rec.handle({ type: 'progress', id: 'export', name: 'exporting layers', current: 1, total: 1, done: true, time: 1800 })
  rec.handle({ type: 'warning', message: 'legacy ENV form', time: 1800 })
  const final = await rec.finish({ now: 2000, result: { digest: 'sha256:cafe', names: ['docker.io/library/app:latest'] } })

  expect(final).toMatchObject({ status: 'completed', durationMs: 1000, warnings: ['legacy ENV form'] })
  expect(final.steps.map((s) => [s.number, s.name, s.status, s.cached])).toEqual([
    [1, '[1/2] FROM busybox', 'cached', true],
    [2, '[2/2] RUN make', 'completed', false],
    [3, 'exporting layers', 'completed', false],
  ])
  expect(final.steps[1]).toMatchObject({ durationMs: 500, missReason: 'no cache record for this step', digest: B })
  expect(final.steps[2]!.digest).toBeUndefined()
  const log = (await store.readLog(rec.id, 2)).toString()
  expect(log.startsWith('line 0\nline 1\n')).toBe(true)
  expect(log.length).toBe(30 * 'line NN\n'.length - 10 + big.length)
  expect((await store.resolve('^1'))).toEqual(final)
})

test.each([
  [new TsbuildError('EXEC_FAILED', 'process "false" did not complete successfully: exit code: 1'), 'failed'],
  [new TsbuildError('CANCELLED', 'interrupted'), 'cancelled'],
] as const)('a build ending in %s is %s, and its running steps end too', async (error, status) => {
  const { rec } = await recorder()
  rec.handle({ type: 'vertex', digest: A, name: 'RUN sleep 9', status: 'started', time: 1100 })
  const final = await rec.finish({ error, now: 1500 })
  expect(final.status).toBe(status)
  expect(final.error).toBe(error.message)
  expect(final.steps[0]!.status).toBe('cancelled')
})

test('a log file behind the step asks it to wait until the file drains, and keeps every byte', async () => {
  const { store, rec } = await recorder()
  rec.handle({ type: 'vertex', digest: B, name: '[2/2] RUN make', status: 'started', time: 1200 })
  const waits: Array<Promise<unknown>> = []
  const chunk = Buffer.alloc(64 * 1024, 'y') // over the file stream's 16 KiB buffer
  rec.handle({ type: 'log', digest: B, stream: 1, data: chunk, time: 1300, backpressure: { wait: (p) => { waits.push(p) } } })
  expect(waits).toHaveLength(1)
  await waits[0]
  rec.handle({ type: 'log', digest: B, stream: 1, data: Buffer.from('end\n'), time: 1300, backpressure: { wait: (p) => { waits.push(p) } } })
  expect(waits).toHaveLength(1)
  await rec.finish({ now: 2000 })
  expect((await store.readLog(rec.id, 1)).length).toBe(chunk.length + 4)
})
