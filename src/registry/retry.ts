/** How failed registry requests are retried. */
export interface RetryPolicy {
  /** Total tries, including the first. */
  attempts: number
  /** First backoff delay; doubles each try, with jitter. */
  baseDelayMs: number
  /** Upper bound for any one wait, including a server's Retry-After. */
  maxDelayMs: number
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 250, maxDelayMs: 15_000 }

/** Statuses worth another try: rate limiting and server-side failures. */
export function isRetryableStatus (status: number): boolean {
  return status === 408 || status === 429 || status === 500 || status === 502 || status === 503 || status === 504
}

const FINAL_ERRNO = new Set(['ENOTFOUND', 'CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'ERR_TLS_CERT_ALTNAME_INVALID'])
const RETRYABLE_ERRNO = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'])

/**
 * Whether a thrown fetch/stream error is a transient network failure. undici
 * wraps the socket error as `TypeError: fetch failed` with the cause inside,
 * and a body cut short surfaces as `TypeError: terminated`.
 */
export function isRetryableError (err: unknown): boolean {
  // A name that does not resolve or a certificate that does not verify will not fix itself in a second.
  for (let e: unknown = err, depth = 0; e != null && depth < 8; depth++) {
    const code = (e as { code?: string }).code
    if (code !== undefined && FINAL_ERRNO.has(code)) return false
    e = (e as { cause?: unknown }).cause
  }
  for (let e: unknown = err, depth = 0; e != null && depth < 8; depth++) {
    const x = e as { name?: string; code?: string; message?: string; cause?: unknown }
    if (x.name === 'AbortError') return false
    if (x.code !== undefined && RETRYABLE_ERRNO.has(x.code)) return true
    if (x.message === 'fetch failed' || x.message === 'terminated' || x.message === 'other side closed') return true
    e = x.cause
  }
  return false
}

/** Seconds (`120`) or an HTTP date; undefined when absent or unparsable. */
export function parseRetryAfter (value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

/** Delay before try number `attempt + 1` (attempt counts from 1). */
export function backoffDelay (policy: RetryPolicy, attempt: number, retryAfterMs?: number, random = Math.random): number {
  if (retryAfterMs !== undefined) return Math.min(policy.maxDelayMs, retryAfterMs)
  const exp = policy.baseDelayMs * 2 ** (attempt - 1)
  return Math.min(policy.maxDelayMs, exp / 2 + random() * exp / 2)
}

/** Sleep that ends early (rejecting) when the signal aborts. */
export function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve() }, ms)
    const onAbort = (): void => { clearTimeout(timer); reject(signal!.reason) }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
