import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { readFile } from 'node:fs/promises'
import type { Digest } from '../../common/digest.js'
import { TsbuildError } from '../../common/errors.js'

/** Files up to this size are read in one call; larger ones stream through the hash. */
const WHOLE_READ_LIMIT = 256 * 1024

export interface HashJob {
  /** Absolute path. */
  file: string
  size: number
}

/**
 * Hash `jobs` with at most `concurrency` reads in flight. Results come back
 * in job order. A fixed set of runners pulls from a shared index, so the
 * number of pending promises stays at `concurrency` however many files there
 * are.
 */
export async function hashFiles (jobs: readonly HashJob[], opts: { concurrency?: number; signal?: AbortSignal } = {}): Promise<Digest[]> {
  const out = new Array<Digest>(jobs.length)
  let next = 0
  const runner = async (): Promise<void> => {
    while (next < jobs.length) {
      opts.signal?.throwIfAborted()
      const i = next++
      out[i] = await hashFile(jobs[i]!)
    }
  }
  const n = Math.max(1, Math.min(opts.concurrency ?? 16, jobs.length))
  await Promise.all(Array.from({ length: n }, runner))
  return out
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
