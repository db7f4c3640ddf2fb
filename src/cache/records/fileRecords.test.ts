import { mkdtemp, readdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { sha256 } from '../../common/digest.js'
import { FileRecordStore } from './fileRecords.js'
import type { CacheKey } from './types.js'

const key = (s: string) => sha256(s) as CacheKey

describe('FileRecordStore', () => {
  test('put, get, overwrite, delete', async () => {
    const root = await mkdtemp(join(tmpdir(), 'rec-'))
    const store = new FileRecordStore(root)
    expect(await store.get(key('a'))).toBeUndefined()
    await store.put({ key: key('a'), layers: ['s1'], createdAt: 't' })
    expect(await store.get(key('a'))).toEqual({ key: key('a'), layers: ['s1'], createdAt: 't' })
    await store.put({ key: key('a'), layers: ['s2'], createdAt: 't' })
    expect((await store.get(key('a')))?.layers).toEqual(['s2'])
    const all = []
    for await (const r of store.list()) all.push(r.layers?.[0])
    expect(all).toEqual(['s2'])
    await store.delete(key('a'))
    expect(await store.get(key('a'))).toBeUndefined()
    expect((await readdir(join(root, 'records'))).filter((n) => n.startsWith('.tmp'))).toEqual([])
  })

  test('a torn or foreign file reads as a miss, not a crash', async () => {
    const root = await mkdtemp(join(tmpdir(), 'rec-'))
    const store = new FileRecordStore(root)
    await store.put({ key: key('b'), createdAt: 't' })
    await writeFile(join(root, 'records', `${key('b').slice(7)}.json`), '{"key":')
    expect(await store.get(key('b'))).toBeUndefined()
    await writeFile(join(root, 'records', `${key('b').slice(7)}.json`), JSON.stringify({ key: key('c'), createdAt: 't' }))
    expect(await store.get(key('b'))).toBeUndefined()
  })
})
