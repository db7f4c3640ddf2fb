/**
 * Conformance suite for every ContentStore (in the manner of containerd's
 * content/testsuite): call `contentStoreSuite(name, harness)` from a test file.
 */
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { describe, expect, test } from 'vitest'
import type { ContentStore } from '../../src/cache/content/types.js'
import { sha256 } from '../../src/common/digest.js'
import type { Digest } from '../../src/common/digest.js'
import { hasCode } from '../../src/common/errors.js'

export interface StoreUnderTest {
  store: ContentStore
  /** Names of in-progress/temporary files the store keeps; must be empty between writes. */
  leftovers (): Promise<string[]>
}

export interface ContentStoreHarness {
  /** A fresh, empty store. */
  create (): Promise<StoreUnderTest>
  /**
   * Optional: write `dataFile` into the same store from a separate OS process,
   * resolving with that process's exit code. Enables the cross-process tests.
   */
  writeFromOtherProcess? (store: StoreUnderTest, dataFile: string, tmpDir: string): Promise<number>
  /** A scratch directory for test inputs. */
  scratchDir (): Promise<string>
}

async function collect (r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of r) chunks.push(Buffer.from(c as Uint8Array))
  return Buffer.concat(chunks)
}

// toEqual walks Buffers byte by byte (seconds for a few MiB); compare digests instead.
function expectSameBytes (actual: Buffer, expected: Buffer): void {
  expect({ size: actual.length, digest: sha256(actual) }).toEqual({ size: expected.length, digest: sha256(expected) })
}

async function listAll (store: ContentStore): Promise<Digest[]> {
  const out: Digest[] = []
  for await (const b of store.list()) out.push(b.digest)
  return out
}

async function * chunked (data: Buffer, size: number, failAfter?: number): AsyncIterable<Uint8Array> {
  for (let off = 0; off < data.length; off += size) {
    if (failAfter !== undefined && off >= failAfter) throw new Error('source broke mid-stream')
    yield data.subarray(off, off + size)
  }
}

export function contentStoreSuite (name: string, h: ContentStoreHarness): void {
  describe(`ContentStore conformance: ${name}`, () => {
    test('writeBytes computes digest and size; readBytes and read return the bytes', async () => {
      const { store, leftovers } = await h.create()
      const data = Buffer.from('hello content\n')
      const info = await store.writeBytes(data)
      expect(info).toEqual({ digest: sha256(data), size: data.length })
      expect(await store.info(info.digest)).toEqual(info)
      expect(await store.readBytes(info.digest)).toEqual(data)
      expect(await collect(store.read(info.digest))).toEqual(data)
      expect(await leftovers()).toEqual([])
    })

    test.each([0, 1, 7, 13, 14])('read from offset %i', async (offset) => {
      const { store } = await h.create()
      const data = Buffer.from('hello content\n')
      const { digest } = await store.writeBytes(data)
      expect(await collect(store.read(digest, { offset }))).toEqual(data.subarray(offset))
    })

    test('a streamed write of many chunks verifies against the expected descriptor', async () => {
      const { store } = await h.create()
      const data = randomBytes(3 * 1024 * 1024 + 17)
      const expected = { digest: sha256(data), size: data.length }
      expect(await store.write(chunked(data, 64 * 1024), { expected })).toEqual(expected)
      expectSameBytes(await collect(store.read(expected.digest)), data)
    })

    test('writing an existing blob is a dedupe and consumes the source', async () => {
      const { store, leftovers } = await h.create()
      const data = Buffer.from('same bytes')
      const first = await store.writeBytes(data)
      const source = Readable.from([data])
      expect(await store.write(source, { expected: first })).toEqual(first)
      expect(source.destroyed || source.readableEnded).toBe(true)
      expect(await store.writeBytes(data)).toEqual(first)
      expect(await listAll(store)).toEqual([first.digest])
      expect(await leftovers()).toEqual([])
    })

    test.each([
      { case: 'wrong digest', code: 'DIGEST_MISMATCH', expected: (d: Buffer) => ({ digest: sha256('other'), size: d.length }) },
      { case: 'size too small', code: 'SIZE_MISMATCH', expected: (d: Buffer) => ({ digest: sha256(d), size: d.length - 1 }) },
      { case: 'size too large', code: 'SIZE_MISMATCH', expected: (d: Buffer) => ({ digest: sha256(d), size: d.length + 1 }) },
    ] as const)('a corrupted write ($case) is rejected and nothing is kept', async ({ code, expected }) => {
      const { store, leftovers } = await h.create()
      const data = randomBytes(200 * 1024)
      const want = expected(data)
      const err = await store.write(chunked(data, 16 * 1024), { expected: want }).catch((e: unknown) => e)
      expect(hasCode(err, code)).toBe(true)
      expect(await store.info(want.digest)).toBeUndefined()
      expect(await store.info(sha256(data))).toBeUndefined()
      expect(await listAll(store)).toEqual([])
      expect(await leftovers()).toEqual([])
    })

    test('a source failing mid-stream leaves nothing behind', async () => {
      const { store, leftovers } = await h.create()
      const data = randomBytes(256 * 1024)
      await expect(store.write(chunked(data, 16 * 1024, 100 * 1024))).rejects.toThrow('source broke mid-stream')
      expect(await listAll(store)).toEqual([])
      expect(await leftovers()).toEqual([])
    })

    test('an aborted write is CANCELLED and leaves nothing behind', async () => {
      const { store, leftovers } = await h.create()
      const ac = new AbortController()
      const data = randomBytes(256 * 1024)
      async function * abortMidway (): AsyncIterable<Uint8Array> {
        yield data.subarray(0, 1024)
        ac.abort()
        yield data.subarray(1024)
      }
      const err = await store.write(abortMidway(), { signal: ac.signal }).catch((e: unknown) => e)
      expect(hasCode(err, 'CANCELLED')).toBe(true)
      expect(await listAll(store)).toEqual([])
      expect(await leftovers()).toEqual([])
    })

    test('missing blobs: info is undefined, read/readBytes/delete are NOT_FOUND', async () => {
      const { store } = await h.create()
      const missing = sha256('never written')
      expect(await store.info(missing)).toBeUndefined()
      expect(() => store.read(missing)).toThrowError(expect.objectContaining({ code: 'NOT_FOUND' }))
      await expect(store.readBytes(missing)).rejects.toMatchObject({ code: 'NOT_FOUND' })
      await expect(store.delete(missing)).rejects.toMatchObject({ code: 'NOT_FOUND' })
    })

    test('readBytes refuses blobs over the limit with TOO_LARGE', async () => {
      const { store } = await h.create()
      const { digest } = await store.writeBytes(Buffer.alloc(1000, 1))
      await expect(store.readBytes(digest, { maxSize: 999 })).rejects.toMatchObject({ code: 'TOO_LARGE' })
      expect((await store.readBytes(digest, { maxSize: 1000 })).length).toBe(1000)
    })

    test('a blob corrupted on disk is refused by readBytes', async () => {
      const { store } = await h.create()
      const { digest } = await store.writeBytes('{"schemaVersion":2}')
      await writeFile(store.path(digest), '{"schemaVersion":3}')
      await expect(store.readBytes(digest)).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' })
    })

    test('malformed digests are refused before touching the filesystem', async () => {
      const { store } = await h.create()
      expect(() => store.path('sha256:../../etc/passwd' as Digest)).toThrowError(expect.objectContaining({ code: 'INVALID_REFERENCE' }))
    })

    test('list and delete', async () => {
      const { store } = await h.create()
      const a = await store.writeBytes('a')
      const b = await store.writeBytes('b')
      expect(new Set(await listAll(store))).toEqual(new Set([a.digest, b.digest]))
      await store.delete(a.digest)
      expect(await listAll(store)).toEqual([b.digest])
      expect(await store.info(a.digest)).toBeUndefined()
    })

    test('concurrent writers of one blob in this process end with one good blob', async () => {
      const { store, leftovers } = await h.create()
      const data = randomBytes(1024 * 1024)
      const results = await Promise.all(Array.from({ length: 8 }, async () => await store.write(chunked(data, 32 * 1024))))
      for (const r of results) expect(r).toEqual({ digest: sha256(data), size: data.length })
      expectSameBytes(await store.readBytes(sha256(data)), data)
      expect(await listAll(store)).toEqual([sha256(data)])
      expect(await leftovers()).toEqual([])
    })

    test.runIf(h.writeFromOtherProcess !== undefined)('two processes writing the same blob end with one good blob', async () => {
      const sut = await h.create()
      const scratch = await h.scratchDir()
      const data = randomBytes(8 * 1024 * 1024)
      const dataFile = `${scratch}/payload`
      await writeFile(dataFile, data)
      const codes = await Promise.all([
        h.writeFromOtherProcess!(sut, dataFile, scratch),
        h.writeFromOtherProcess!(sut, dataFile, scratch),
      ])
      expect(codes).toEqual([0, 0])
      expectSameBytes(await sut.store.readBytes(sha256(data), { maxSize: data.length }), data)
      expect(await listAll(sut.store)).toEqual([sha256(data)])
      expect(await sut.leftovers()).toEqual([])
    })
  })
}
