import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { loadGcPolicy } from './config.js'
import { DEFAULT_CAP_MAX, formatSize, parseSize } from './size.js'

describe('sizes', () => {
  test.each([
    ['1048576', 1048576], ['10GB', 10 * 1024 ** 3], ['10gib', 10 * 1024 ** 3], ['512m', 512 * 1024 ** 2], ['1.5KB', 1536], ['7 B', 7],
  ])('parseSize(%s)', (text, bytes) => { expect(parseSize(text)).toBe(bytes) })

  test.each(['', 'ten', '10XB', '-1GB'])('parseSize rejects %j', (text) => {
    expect(() => parseSize(text)).toThrow(/invalid size/)
  })

  test.each([[0, '0B'], [999, '999B'], [1000, '1kB'], [1_234_567, '1.23MB'], [52_400_000, '52.4MB'], [20e9, '20GB']])('formatSize(%d)', (n, text) => {
    expect(formatSize(n)).toBe(text)
  })
})

describe('loadGcPolicy', () => {
  test('environment, then config.json, then a share of the disk', async () => {
    const root = await mkdtemp(join(tmpdir(), 'tsbuild-gcpolicy-'))
    const byDefault = await loadGcPolicy(root, {})
    expect(byDefault.source).toBe('default')
    expect(byDefault.maxStorage).toBeGreaterThan(0)
    expect(byDefault.maxStorage).toBeLessThanOrEqual(DEFAULT_CAP_MAX)
    await writeFile(join(root, 'config.json'), JSON.stringify({ gc: { maxStorage: '2GB' } }))
    expect(await loadGcPolicy(root, {})).toEqual({ maxStorage: 2 * 1024 ** 3, source: 'config' })
    expect(await loadGcPolicy(root, { TSBUILD_GC_MAX_STORAGE: '5MB' })).toEqual({ maxStorage: 5 * 1024 ** 2, source: 'env' })
    await writeFile(join(root, 'config.json'), JSON.stringify({ gc: { maxStorage: true } }))
    await expect(loadGcPolicy(root, {})).rejects.toThrow(/gc.maxStorage/)
  })
})
