import { createHash } from 'node:crypto'
import type { Digest } from '../common/digest.js'
import { TsbuildError } from '../common/errors.js'
import type { Descriptor } from '../common/oci.js'
import type { BlobInfo, ContentStore } from '../cache/content/index.js'
import { familiarName, type ImageReference } from './reference.js'
import { backoffDelay, isRetryableError, sleep } from './retry.js'
import { discard, errorFromResponse, throwIfAborted, type RegistryTransport } from './transport.js'

/** Byte progress of one blob transfer. */
export interface BlobProgress {
  direction: 'pull' | 'push'
  image: string
  digest: Digest
  done: number
  total: number
}

export interface BlobReadOptions {
  signal?: AbortSignal
  onProgress?: (p: BlobProgress) => void
}

/**
 * Stream a blob's bytes from the registry, verified against `desc`. A body
 * that breaks or ends early is resumed with a Range request from the last good
 * byte (registries that ignore Range are handled by skipping what we have);
 * after the policy's attempts it fails with SIZE_MISMATCH (truncated) or
 * UNAVAILABLE. The digest is checked before the final chunk is released, so a
 * consumer never commits bad bytes; DIGEST_MISMATCH names the image and blob.
 */
export async function * readBlob (transport: RegistryTransport, ref: ImageReference, desc: Descriptor, opts: BlobReadOptions = {}): AsyncGenerator<Uint8Array> {
  const image = familiarName(ref)
  const what = `image ${image}: blob ${desc.digest}`
  const hash = createHash('sha256')
  let offset = 0
  let failures = 0
  let lastError: unknown
  for (;;) {
    const res = await transport.send({ ref, actions: 'pull' }, {
      method: 'GET',
      url: `/v2/${ref.repository}/blobs/${desc.digest}`,
      headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
      signal: opts.signal,
    })
    if (!res.ok) throw await errorFromResponse(res, what)
    let skip = offset > 0 && res.status !== 206 ? offset : 0
    if (res.status === 206 && !res.headers.get('content-range')?.startsWith(`bytes ${offset}-`)) {
      await discard(res)
      throw new TsbuildError('UNAVAILABLE', `${what}: registry answered a range request with the wrong range (${res.headers.get('content-range')})`)
    }
    const it = res.body?.[Symbol.asyncIterator]()
    try {
      while (it !== undefined) {
        let step: IteratorResult<Uint8Array>
        try {
          step = await it.next()
        } catch (err) {
          throwIfAborted(opts.signal, image)
          if (!isRetryableError(err)) throw err
          lastError = err
          break
        }
        if (step.done) break
        let chunk = step.value
        if (skip > 0) {
          if (chunk.length <= skip) { skip -= chunk.length; continue }
          chunk = chunk.subarray(skip)
          skip = 0
        }
        if (offset + chunk.length > desc.size) {
          throw new TsbuildError('SIZE_MISMATCH', `${what}: registry sent more than the expected ${desc.size} bytes`)
        }
        hash.update(chunk)
        offset += chunk.length
        if (offset === desc.size) verifyDigest(hash.digest('hex'), desc.digest, what)
        opts.onProgress?.({ direction: 'pull', image, digest: desc.digest, done: offset, total: desc.size })
        yield chunk
      }
    } finally {
      await it?.return?.().catch(() => {})
    }
    if (offset === desc.size) {
      if (desc.size === 0) verifyDigest(hash.digest('hex'), desc.digest, what)
      return
    }
    failures++
    if (failures >= transport.retry.attempts) {
      throw new TsbuildError('SIZE_MISMATCH', `${what}: download truncated at ${offset} of ${desc.size} bytes after ${failures} ${failures === 1 ? 'try' : 'tries'}`, { cause: lastError })
    }
    await sleep(backoffDelay(transport.retry, failures), opts.signal)
  }
}

function verifyDigest (hex: string, want: Digest, what: string): void {
  if (`sha256:${hex}` !== want) throw new TsbuildError('DIGEST_MISMATCH', `${what}: downloaded bytes hash to sha256:${hex}`)
}

/** Fetch a blob into the store unless it is already there. */
export async function fetchBlobToStore (transport: RegistryTransport, ref: ImageReference, desc: Descriptor, store: ContentStore, opts: BlobReadOptions = {}): Promise<BlobInfo> {
  const have = await store.info(desc.digest)
  // A stored blob of another size is damaged (cut short by a full disk): fetch it again, which replaces it.
  if (have !== undefined && have.size === desc.size) return have
  return await store.write(readBlob(transport, ref, desc, opts), { expected: { digest: desc.digest, size: desc.size }, signal: opts.signal })
}

/** Fetch a small blob (an image config) into memory, capped at `maxSize`. */
export async function fetchSmallBlob (transport: RegistryTransport, ref: ImageReference, desc: Descriptor, maxSize: number, opts: BlobReadOptions = {}): Promise<Buffer> {
  if (desc.size > maxSize) throw new TsbuildError('TOO_LARGE', `image ${familiarName(ref)}: blob ${desc.digest} is ${desc.size} bytes, over the ${maxSize}-byte limit`)
  const chunks: Uint8Array[] = []
  for await (const c of readBlob(transport, ref, desc, opts)) chunks.push(c)
  return Buffer.concat(chunks)
}

/** Run `fn` over `items` with at most `limit` in flight; the first failure aborts the rest. */
export async function mapLimit<T, R> (items: readonly T[], limit: number, fn: (item: T, signal: AbortSignal) => Promise<R>, signal?: AbortSignal): Promise<R[]> {
  const ac = new AbortController()
  const onAbort = (): void => ac.abort(signal?.reason)
  signal?.addEventListener('abort', onAbort, { once: true })
  const results = new Array<R>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length && !ac.signal.aborted) {
      const i = next++
      results[i] = await fn(items[i]!, ac.signal)
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, () => worker().catch((err) => { ac.abort(err); throw err })))
  } finally {
    signal?.removeEventListener('abort', onAbort)
  }
  return results
}
