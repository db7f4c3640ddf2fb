import { createHash } from 'node:crypto'
import { closeSync, createReadStream, openSync, readSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import type { Digest } from '../../common/digest.js'
import { TsbuildError } from '../../common/errors.js'

/** Up to this size hashFile reads in one call; larger files stream through the hash. */
const WHOLE_READ_LIMIT = 256 * 1024

export interface HashJob {
  /** Absolute path. */
  file: string
  size: number
}

/**
 * Hash `jobs`; results come back in job order. Small files are read
 * synchronously into one reused buffer, in slices that yield to the event
 * loop: for page-cached source trees this is several times faster than a
 * promise per file (30,000 small files, cold: 3.7 s → 2.3 s on the 2-core CI host; bench/context.mjs).
 * Larger files stream through the hash with at most `concurrency` reads in
 * flight, alongside the small ones.
 */
export async function hashFiles (jobs: readonly HashJob[], opts: { concurrency?: number; signal?: AbortSignal } = {}): Promise<Digest[]> {
  const out = new Array<Digest>(jobs.length)
  const large: number[] = []
  const small: number[] = []
  for (let i = 0; i < jobs.length; i++) (jobs[i]!.size <= SYNC_READ_LIMIT ? small : large).push(i)

  let next = 0
  const runner = async (): Promise<void> => {
    while (next < large.length) {
      opts.signal?.throwIfAborted()
      const i = large[next++]!
      out[i] = await hashFile(jobs[i]!)
    }
  }
  const streaming = Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 8, large.length)) }, runner))

  const buf = Buffer.allocUnsafe(SYNC_READ_LIMIT + 1)
  for (let k = 0; k < small.length; k++) {
    if (k % SYNC_SLICE === SYNC_SLICE - 1) {
      await new Promise((resolve) => setImmediate(resolve))
      opts.signal?.throwIfAborted()
    }
    const i = small[k]!
    out[i] = hashSmallFile(jobs[i]!.file, buf) ?? await hashFile(jobs[i]!)
  }
  await streaming
  return out
}

/** Files up to this size are read synchronously into a shared buffer. */
const SYNC_READ_LIMIT = 64 * 1024
const SYNC_SLICE = 256

/** Undefined when the file grew past the buffer since it was stat'ed; the caller streams it instead. */
function hashSmallFile (file: string, buf: Buffer): Digest | undefined {
  let fd: number
  try {
    fd = openSync(file, 'r')
  } catch (err) {
    throw new TsbuildError('IO', `cannot read context file ${file}: ${(err as Error).message}`, { cause: err })
  }
  try {
    let n = 0
    for (;;) {
      const got = readSync(fd, buf, n, buf.length - n, null)
      if (got === 0) break
      n += got
      if (n === buf.length) return undefined
    }
    return `sha256:${createHash('sha256').update(buf.subarray(0, n)).digest('hex')}` as Digest
  } catch (err) {
    throw new TsbuildError('IO', `cannot read context file ${file}: ${(err as Error).message}`, { cause: err })
  } finally {
    closeSync(fd)
  }
}

export async function hashFile (job: HashJob): Promise<Digest> {
  try {
    const hash = createHash('sha256')
    if (job.size <= WHOLE_READ_LIMIT) {
      hash.update(await readFile(job.file))
    } else {
      for await (const chunk of createReadStream(job.file, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer)
    }
    return `sha256:${hash.digest('hex')}` as Digest
  } catch (err) {
    throw new TsbuildError('IO', `cannot read context file ${job.file}: ${(err as Error).message}`, { cause: err })
  }
}
