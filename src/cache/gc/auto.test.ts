import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test } from 'vitest'
import { openStateDir } from '../stateDir.js'
import { collectToCap } from './auto.js'

test('the collection before a build is skipped only while the last one left the cache far under the cap', async () => {
  const root = await mkdtemp(join(tmpdir(), 'tsb-gc-auto-'))
  await openStateDir(root)
  const env = { TSBUILD_GC_MAX_STORAGE: '1GB' }
  await collectToCap(root, env)
  const recorded = JSON.parse(await readFile(join(root, 'gc-usage.json'), 'utf8')) as { cacheAfter: number; maxStorage: number }
  expect(recorded.cacheAfter).toBe(0)

  // A marker figure shows whether a collection ran (it rewrites the figure) or not.
  const mark = async (cacheAfter: number): Promise<void> => { await writeFile(join(root, 'gc-usage.json'), JSON.stringify({ ...recorded, cacheAfter })) }
  const figure = async (): Promise<number> => (JSON.parse(await readFile(join(root, 'gc-usage.json'), 'utf8')) as { cacheAfter: number }).cacheAfter
  await mark(7)
  await collectToCap(root, env, { skipWhenFarUnderCap: true })
  expect(await figure()).toBe(7)
  await mark(recorded.maxStorage * 0.9)
  await collectToCap(root, env, { skipWhenFarUnderCap: true })
  expect(await figure()).toBe(0)
  await mark(7)
  await collectToCap(root, env)
  expect(await figure()).toBe(0)
})

test('after a build, what it added is added to the figure while far under the cap; near it the store is walked', async () => {
  const root = await mkdtemp(join(tmpdir(), 'tsb-gc-auto-'))
  await openStateDir(root)
  const env = { TSBUILD_GC_MAX_STORAGE: '1GB' }
  await collectToCap(root, env)
  const figure = async (): Promise<number> => (JSON.parse(await readFile(join(root, 'gc-usage.json'), 'utf8')) as { cacheAfter: number }).cacheAfter
  await collectToCap(root, env, { skipWhenFarUnderCap: true, addedBytes: 1000 })
  await collectToCap(root, env, { skipWhenFarUnderCap: true, addedBytes: 500 })
  expect(await figure()).toBe(1500) // an upper bound kept for the next build, no walk
  await collectToCap(root, env, { skipWhenFarUnderCap: true, addedBytes: 600_000_000 })
  expect(await figure()).toBe(0) // past half the cap: the store was walked and the true figure recorded
})
