import { execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, open, readdir, readFile, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { build } from 'esbuild'
import { afterAll, describe, expect, test } from 'vitest'
import { contentStoreSuite } from '../../../test/suites/contentStore.js'
import { sha256 } from '../../common/digest.js'
import { TsbuildError } from '../../common/errors.js'
import { LocalContentStore, writeAll } from './local.js'

const run = promisify(execFile)

const writerEntry = fileURLToPath(new URL('../../../test/suites/localContentStoreWriter.ts', import.meta.url))
let writerScript: Promise<string> | undefined

// The child must run the real store code; Node 20 cannot load .ts, so bundle
// the writer once per test run.
async function bundledWriter (): Promise<string> {
  writerScript ??= (async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'tsbuild-writer-')), 'writer.mjs')
    await build({ entryPoints: [writerEntry], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: out, logLevel: 'error' })
    return out
  })()
  return await writerScript
}

contentStoreSuite('LocalContentStore', {
  async create () {
    const root = await mkdtemp(join(tmpdir(), 'tsbuild-cs-'))
    const store = new LocalContentStore(root)
    return {
      store,
      async leftovers () {
        return await readdir(join(root, 'tmp')).catch(() => [])
      },
    }
  },
  async scratchDir () {
    return await mkdtemp(join(tmpdir(), 'tsbuild-cs-scratch-'))
  },
  async writeFromOtherProcess (sut, dataFile) {
    const script = await bundledWriter()
    const root = (sut.store as LocalContentStore).root
    return await new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, [script, root, dataFile], { stdio: ['ignore', 'ignore', 'inherit'] })
      child.on('error', reject)
      child.on('exit', (code) => resolve(code ?? -1))
    })
  },
})

describe('LocalContentStore layout', () => {
  test('blobs live at blobs/sha256/<hex> under the root', async () => {
    const root = await mkdtemp(join(tmpdir(), 'tsbuild-cs-'))
    const store = new LocalContentStore(root)
    const { digest } = await store.writeBytes('x')
    expect(store.path(digest)).toBe(join(root, 'blobs', 'sha256', digest.slice(7)))
    expect(await readdir(join(root, 'blobs', 'sha256'))).toEqual([digest.slice(7)])
  })

  test('ingestFile copies a file and verifies it', async () => {
    const root = await mkdtemp(join(tmpdir(), 'tsbuild-cs-'))
    const store = new LocalContentStore(root)
    const src = join(await mkdtemp(join(tmpdir(), 'tsbuild-cs-src-')), 'f')
    await writeFile(src, 'file body')
    const info = await store.ingestFile(src)
    expect((await store.readBytes(info.digest)).toString()).toBe('file body')
    await expect(store.ingestFile(src, { digest: info.digest.replace(/.$/, '0') as typeof info.digest, size: 9 }))
      .rejects.toMatchObject({ code: expect.stringMatching(/DIGEST_MISMATCH|INVALID_REFERENCE/) })
  })
})

// A real full filesystem, not a mocked fs: a small tmpfs answers a big write
// with a short count, and the next write with ENOSPC. Mounting needs root.
describe.skipIf(process.getuid?.() !== 0)('LocalContentStore on a full filesystem (root: mounts a tmpfs)', () => {
  const mounts: string[] = []
  afterAll(async () => {
    for (const m of mounts) await run('umount', [m]).catch(() => {})
  })

  async function smallTmpfs (size: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'tsbuild-cs-full-'))
    await run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir])
    mounts.push(dir)
    return dir
  }

  test('one write of more than fits is short, and writeAll turns that into ENOSPC', async () => {
    const dir = await smallTmpfs('1m')
    const data = randomBytes(3 << 20)
    const edge = await open(join(dir, 'edge'), 'w')
    try {
      // The filesystem under test really does take part of a buffer without an error.
      const { bytesWritten } = await edge.write(data, 0, data.length)
      expect(bytesWritten).toBeGreaterThan(0)
      expect(bytesWritten).toBeLessThan(data.length)
    } finally {
      await edge.close()
    }
    await unlink(join(dir, 'edge'))
    const fh = await open(join(dir, 'all'), 'w')
    try {
      await expect(writeAll(fh, data)).rejects.toMatchObject({ code: 'ENOSPC' })
    } finally {
      await fh.close()
    }
    await unlink(join(dir, 'all'))
    const fits = await open(join(dir, 'fits'), 'w')
    try {
      await writeAll(fits, data.subarray(0, 256 << 10))
      expect((await fits.stat()).size).toBe(256 << 10)
    } finally {
      await fits.close()
    }
  })

  test.each([
    ['one big chunk', 1 << 30],
    ['64 KiB chunks', 64 << 10],
  ])('a blob that does not fit (%s) fails naming the state dir and leaves no blob and no temp file', async (_name, chunkSize) => {
    const root = await smallTmpfs('1m')
    const store = new LocalContentStore(root)
    const data = randomBytes(3 << 20)
    const err = await store.write(chunks(data, chunkSize), { expected: { digest: sha256(data), size: data.length } }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TsbuildError)
    expect((err as TsbuildError).code).toBe('IO')
    expect((err as TsbuildError).message).toBe(`no space left on the device holding the state dir ${root} (ENOSPC) while writing a blob`)
    expect(await readdir(join(root, 'blobs', 'sha256'))).toEqual([])
    expect(await readdir(join(root, 'tmp'))).toEqual([])
    expect(await store.info(sha256(data))).toBeUndefined()
    // Without an expected digest too: nothing is committed under the digest of what fit.
    await expect(store.write(chunks(data, chunkSize))).rejects.toMatchObject({ code: 'IO' })
    expect(await readdir(join(root, 'blobs', 'sha256'))).toEqual([])
    // Space is usable again afterwards: the failed writes took nothing with them.
    const small = randomBytes(512 << 10)
    const info = await store.writeBytes(small)
    expect(sha256(await readFile(store.path(info.digest)))).toBe(info.digest)
  })

  test('a truncated blob under its digest is replaced by the next write that knows the size', async () => {
    const root = await mkdtemp(join(tmpdir(), 'tsbuild-cs-'))
    const store = new LocalContentStore(root)
    const data = randomBytes(100_000)
    const digest = sha256(data)
    await mkdir(join(root, 'blobs', 'sha256'), { recursive: true })
    await writeFile(store.path(digest), data.subarray(0, 40_000))
    await store.write(chunks(data, 8192), { expected: { digest, size: data.length } })
    expect(sha256(await readFile(store.path(digest)))).toBe(digest)
    // An intact blob is still a dedupe: the source is not read.
    let pulled = false
    await store.write((async function * () { pulled = true; yield data })(), { expected: { digest, size: data.length } })
    expect(pulled).toBe(false)
  })
})

async function * chunks (data: Buffer, size: number): AsyncIterable<Uint8Array> {
  for (let off = 0; off < data.length; off += size) yield data.subarray(off, off + size)
}
