import { badPortHint, isFetchBadPort } from '../common/fetchPorts.js'
import { TsbuildError } from '../common/errors.js'
import { Authorizer, repositoryScope } from './auth.js'
import { isLoopbackRegistry } from './loopback.js'
import type { CredentialStore } from './credentials.js'
import { familiarName, type ImageReference } from './reference.js'
import { DEFAULT_RETRY, backoffDelay, isRetryableError, isRetryableStatus, parseRetryAfter, sleep, type RetryPolicy } from './retry.js'

export interface TransportOptions {
  credentials: CredentialStore
  /** Registries (host[:port]) to reach over plain http even though they are not loopback. */
  insecureRegistries?: readonly string[]
  fetch?: typeof fetch
  retry?: Partial<RetryPolicy>
}

/** Which repository a request acts on, and with what rights; also names the image in errors. */
export interface RequestTarget {
  ref: ImageReference
  actions: 'pull' | 'push'
  /** More scopes to ask a token for, e.g. pull on the source of a cross-repository mount. */
  extraScopes?: readonly string[]
}

export interface RegistryRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  /** A path under the registry (`/v2/…`) or an absolute URL (upload locations). */
  url: string
  headers?: Record<string, string>
  /** Buffered so a retry can send it again. */
  body?: Uint8Array
  signal?: AbortSignal
}

/**
 * HTTP to registries: picks the scheme, answers auth challenges, and retries
 * transient failures (network errors, 429, 5xx) with backoff that honours
 * Retry-After. Callers get the final response and interpret its status.
 */
export class RegistryTransport {
  readonly retry: RetryPolicy
  readonly fetch: typeof fetch
  private readonly authorizer: Authorizer
  private readonly insecure: ReadonlySet<string>

  constructor (opts: TransportOptions) {
    this.fetch = opts.fetch ?? globalThis.fetch
    this.retry = { ...DEFAULT_RETRY, ...opts.retry }
    this.authorizer = new Authorizer({ credentials: opts.credentials, fetch: this.fetch })
    this.insecure = new Set(opts.insecureRegistries ?? [])
  }

  /** `http://127.0.0.1:5000` or `https://registry-1.docker.io`. */
  baseUrl (registry: string): string {
    const host = registry === 'docker.io' ? 'registry-1.docker.io' : registry
    const scheme = isLoopbackRegistry(registry) || this.insecure.has(registry) ? 'http' : 'https'
    return `${scheme}://${host}`
  }

  async send (target: RequestTarget, req: RegistryRequest): Promise<Response> {
    const { ref } = target
    const image = familiarName(ref)
    const scopes = [repositoryScope(ref.repository, target.actions), ...(target.extraScopes ?? [])]
    const url = new URL(req.url, this.baseUrl(ref.registry))
    let authorization = await this.authorizer.headerFor(ref.registry, scopes)
    let answeredChallenge = false
    for (let attempt = 1; ; attempt++) {
      let res: Response
      try {
        const headers = { ...req.headers, ...(authorization !== undefined ? { authorization } : {}) }
        res = await this.fetch(url, { method: req.method, headers, body: req.body, signal: req.signal, redirect: 'follow' })
      } catch (err) {
        throwIfAborted(req.signal, image)
        if (isFetchBadPort(err)) {
          throw new TsbuildError('UNAVAILABLE', `${image}: cannot connect to registry ${ref.registry}: bad port`, { cause: err, hint: badPortHint(url.port) })
        }
        if (isRetryableError(err) && attempt < this.retry.attempts) {
          await sleep(backoffDelay(this.retry, attempt), req.signal)
          continue
        }
        throw new TsbuildError('UNAVAILABLE', `${image}: registry ${ref.registry} is unreachable after ${attempt} ${attempt === 1 ? 'try' : 'tries'}: ${describeNetworkError(err)}`, { cause: err })
      }
      if (res.status === 401 && !answeredChallenge) {
        await discard(res)
        authorization = await this.authorizer.answer(ref.registry, scopes, res.headers.get('www-authenticate'), image, req.signal)
        answeredChallenge = true
        attempt--
        continue
      }
      if (res.status === 401) {
        await discard(res)
        this.authorizer.forget(ref.registry, scopes)
        throw new TsbuildError('UNAUTHORIZED', `${image}: registry ${ref.registry} rejected the credentials (HTTP 401)`, {
          hint: `check the user name and password or token for ${ref.registry}: docker login ${ref.registry}, or its entry in config.json in $DOCKER_CONFIG (default ~/.docker)`,
        })
      }
      if (isRetryableStatus(res.status) && attempt < this.retry.attempts) {
        await discard(res)
        await sleep(backoffDelay(this.retry, attempt, parseRetryAfter(res.headers.get('retry-after'))), req.signal)
        continue
      }
      if (isRetryableStatus(res.status)) {
        await discard(res)
        throw new TsbuildError('UNAVAILABLE', `${image}: registry ${ref.registry} answered HTTP ${res.status} ${res.statusText} after ${attempt} tries`)
      }
      return res
    }
  }
}


/** Drain an unwanted body so the connection can be reused. */
export async function discard (res: Response): Promise<void> {
  try { await res.body?.cancel() } catch { /* already closed */ }
}

export function throwIfAborted (signal: AbortSignal | undefined, image: string): void {
  if (signal?.aborted) throw new TsbuildError('CANCELLED', `${image}: cancelled`, { cause: signal.reason })
}

function describeNetworkError (err: unknown): string {
  const parts: string[] = []
  for (let e: unknown = err, depth = 0; e != null && depth < 4; depth++) {
    const x = e as { message?: string; code?: string; cause?: unknown }
    if (x.message !== undefined && x.message !== 'fetch failed') parts.push(x.code !== undefined && !x.message.includes(x.code) ? `${x.code} ${x.message}` : x.message)
    e = x.cause
  }
  return parts[0] ?? String(err)
}

/**
 * The TsbuildError for an unexpected registry answer, using the error codes
 * distribution puts in its JSON body (MANIFEST_UNKNOWN, BLOB_UNKNOWN, DENIED…).
 */
export async function errorFromResponse (res: Response, what: string): Promise<TsbuildError> {
  let detail = ''
  let codes: string[] = []
  if (res.status !== 404 || res.headers.get('content-type')?.includes('json')) {
    try {
      const text = (await res.text()).slice(0, 2000)
      const body = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> }
      codes = (body.errors ?? []).map((e) => e.code ?? '')
      detail = (body.errors ?? []).map((e) => e.message ?? e.code).filter(Boolean).join('; ')
    } catch { /* not a distribution error body */ }
  } else {
    await discard(res)
  }
  const suffix = detail !== '' ? `: ${detail}` : ''
  if (res.status === 404 || codes.some((c) => c.endsWith('_UNKNOWN'))) return new TsbuildError('NOT_FOUND', `${what} not found${suffix}`)
  if (res.status === 403 || codes.includes('DENIED') || codes.includes('UNAUTHORIZED')) return new TsbuildError('UNAUTHORIZED', `${what}: access denied${suffix}`)
  return new TsbuildError('UNAVAILABLE', `${what}: registry answered HTTP ${res.status}${suffix}`)
}
