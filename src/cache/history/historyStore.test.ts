import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'
import { hasCode } from '../../common/errors.js'
import { HistoryStore, settleOrphan } from './historyStore.js'
import type { BuildRecord } from './types.js'

const dirs: string[] = []
afterEach(async () => { for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true }) })

async function store (): Promise<HistoryStore> {
  const d = await mkdtemp(join(tmpdir(), 'tsbuild-history-'))
  dirs.push(d)
  return new HistoryStore(d)
}

function record (id: string, createdAt: string): BuildRecord {
  return {
    id, name: 'app', createdAt, status: 'completed', warnings: [],
    request: { context: '/ctx', dockerfile: 'Dockerfile', platforms: [], tags: [], outputs: [], push: false, noCache: false, buildArgs: {}, secretIds: [], sshIds: [] },
    steps: [
      { number: 1, digest: 'sha256:aaaa1111', name: '[1/2] FROM busybox', status: 'cached', cached: true, logBytes: 0 },
      { number: 2, digest: 'sha256:bbbb2222', name: '[2/2] RUN make', status: 'completed', cached: false, logBytes: 3 },
    ],
  }
}

describe('HistoryStore', () => {
  test('lists records newest first and skips unreadable ones', async () => {
    const s = await store()
    await s.create(record('aaaaaaaaa1', '2026-01-01T00:00:00.000Z'))
    await s.create(record('bbbbbbbbb2', '2026-01-02T00:00:00.000Z'))
    await s.create(record('ccccccccc3', '2026-01-03T00:00:00.000Z'))
    await writeFile(join(s.recordDir('ccccccccc3'), 'record.json'), '{ half')
    expect((await s.list()).map((r) => r.id)).toEqual(['bbbbbbbbb2', 'aaaaaaaaa1'])
  })

  test.each([
    ['^1', 'bbbbbbbbb2'],
    ['^2', 'aaaaaaaaa1'],
    ['bb', 'bbbbbbbbb2'],
    ['aaaaaaaaa1', 'aaaaaaaaa1'],
  ])('resolves %s', async (ref, id) => {
    const s = await store()
    await s.create(record('aaaaaaaaa1', '2026-01-01T00:00:00.000Z'))
    await s.create(record('bbbbbbbbb2', '2026-01-02T00:00:00.000Z'))
    expect((await s.resolve(ref)).id).toBe(id)
  })

  test.each([
    ['^3', 'NOT_FOUND'],
    ['^0', 'NOT_FOUND'],
    ['zz', 'NOT_FOUND'],
    ['a', 'USAGE'],
  ] as const)('refuses %s with %s', async (ref, code) => {
    const s = await store()
    await s.create(record('aaaaaaaaa1', '2026-01-01T00:00:00.000Z'))
    await s.create(record('aaaaaaaaa2', '2026-01-02T00:00:00.000Z'))
    const err = await s.resolve(ref).catch((e: unknown) => e)
    expect(hasCode(err, code)).toBe(true)
  })

  test.each([
    ['2', 2], ['#1', 1], ['bbbb', 2], ['sha256:aaaa1', 1],
  ])('finds step %s', (ref, n) => {
    expect(HistoryStore.findStep(record('aaaaaaaaa1', 'x'), ref).number).toBe(n)
  })

  test('an unknown step is NOT_FOUND', () => {
    expect(() => HistoryStore.findStep(record('aaaaaaaaa1', 'x'), '9')).toThrow(/has no step "9"/)
  })

  test('prune keeps the newest builds', async () => {
    const s = await store()
    for (let i = 1; i <= 5; i++) await s.create(record(`build0000${i}`, `2026-01-0${i}T00:00:00.000Z`))
    expect(await s.prune(2)).toEqual(['build00003', 'build00002', 'build00001'])
    expect((await s.list()).map((r) => r.id)).toEqual(['build00005', 'build00004'])
  })

  test('prune lets a few extra builds accumulate before it reads any record', async () => {
    const s = await store()
    for (let i = 1; i <= 6; i++) await s.create(record(`build0000${i}`, `2026-01-0${i}T00:00:00.000Z`))
    expect(await s.prune(5)).toEqual([])
    await s.create(record('build00007', '2026-01-07T00:00:00.000Z'))
    expect(await s.prune(5)).toEqual(['build00002', 'build00001'])
  })

  test('prune drops older builds once their output passes the size limit, never the newest or a running one', async () => {
    const s = await store()
    const withLog = (id: string, day: number, logBytes: number, status: BuildRecord['status'] = 'completed'): BuildRecord => {
      const r = record(id, `2026-01-0${day}T00:00:00.000Z`)
      return { ...r, status, pid: process.pid, steps: [{ ...r.steps[1]!, logBytes }] }
    }
    await s.create(withLog('build00001', 1, 400))
    await s.create(withLog('build00002', 2, 400, 'running'))
    await s.create(withLog('build00003', 3, 400))
    await s.create(withLog('build00004', 4, 400))
    await s.create(withLog('build00005', 5, 5000))
    // A quiet build does not read the records; a noisy one does.
    expect(await s.prune(50, { maxLogBytes: 1000, wroteLogBytes: 10 })).toEqual([])
    expect(await s.prune(50, { maxLogBytes: 1000, wroteLogBytes: 5000 })).toEqual(['build00004', 'build00003', 'build00001'])
    expect((await s.list()).map((r) => r.id)).toEqual(['build00005', 'build00002'])
  })

  test('a missing log reads as empty', async () => {
    const s = await store()
    await s.create(record('aaaaaaaaa1', '2026-01-01T00:00:00.000Z'))
    expect((await s.readLog('aaaaaaaaa1', 7)).length).toBe(0)
  })
})

describe('settleOrphan', () => {
  const record = (status: BuildRecord['status'], pid?: number): BuildRecord => ({
    id: 'abcdefgh12', name: 'app', createdAt: '2024-01-01T00:00:00.000Z', status, warnings: [],
    request: { context: '/c', dockerfile: 'Dockerfile', platforms: [], tags: [], outputs: [], push: false, noCache: false, buildArgs: {}, secretIds: [], sshIds: [] },
    steps: [
      { number: 1, name: '[1/2] FROM x', status: 'completed', cached: false, logBytes: 0 },
      { number: 2, name: '[2/2] RUN sleep', status: 'running', cached: false, logBytes: 0 },
    ],
    ...(pid !== undefined ? { pid } : {}),
  })

  test('a running record whose process is gone reads as interrupted, its running steps as cancelled', () => {
    const r = settleOrphan(record('running', 4242), () => false)
    expect(r.status).toBe('interrupted')
    expect(r.error).toBe("the build's process (pid 4242) ended before the build finished")
    expect(r.steps.map((s) => s.status)).toEqual(['completed', 'cancelled'])
  })

  test.each([
    ['its process is alive', record('running', 4242), true],
    ['it finished', record('failed', 4242), false],
    ['it names no process', record('running'), false],
  ])('is left as it is when %s', (_name, r, alive) => {
    expect(settleOrphan(r, () => alive)).toBe(r)
  })
})

test('streamLog yields a step log in chunks, and nothing for a step that printed nothing', async () => {
  const s = await store()
  const data = Buffer.alloc(600 * 1024 + 7, 'z')
  await mkdir(dirname(s.logPath('aaaaaaaaa1', 3)), { recursive: true })
  await writeFile(s.logPath('aaaaaaaaa1', 3), data)
  const chunks: Buffer[] = []
  for await (const c of s.streamLog('aaaaaaaaa1', 3)) chunks.push(c)
  expect(chunks.length).toBeGreaterThan(1)
  expect(Buffer.concat(chunks).equals(data)).toBe(true)
  const none: Buffer[] = []
  for await (const c of s.streamLog('aaaaaaaaa1', 4)) none.push(c)
  expect(none).toEqual([])
})
