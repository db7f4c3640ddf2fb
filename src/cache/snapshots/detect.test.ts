import { mkdtemp, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test } from 'vitest'
import { detectSnapshotter } from './detect.js'

test('a detection recorded in the state dir on the same filesystem is reused without a test mount', async () => {
  const root = await mkdtemp(join(tmpdir(), 'tsb-detect-'))
  // 'copy' with a reason no probe would produce: only the record can be the answer.
  await writeFile(join(root, 'snapshotter.json'), JSON.stringify({ backend: 'copy', reason: 'recorded', dev: (await stat(root)).dev }))
  expect(await detectSnapshotter(root)).toEqual({ backend: 'copy', reason: 'recorded' })
})
