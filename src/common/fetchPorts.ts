import { TsbuildError } from './errors.js'

/**
 * Node's fetch follows the Fetch standard's port blocking: it refuses to
 * connect to ports such as 1, 6000, 6665–6669 or 10080 and fails with
 * "bad port". BuildKit has no such list, so a registry or download on one
 * of those ports needs saying plainly (and never retrying).
 */
export function isFetchBadPort (err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e != null && depth < 4; depth++) {
    if ((e as { message?: unknown }).message === 'bad port') return true
    e = (e as { cause?: unknown }).cause
  }
  return false
}

/** The port a URL or `host:port` connects to, for the message. */
export function badPortHint (port: string): string {
  return `port ${port} is on the Fetch standard's list of blocked ports, which Node's HTTP client refuses; serve it on another port (e.g. 5000 for a registry, 8080 for files)`
}

export interface DownloadNames {
  /** `cannot download SUBJECT: …` */
  subject: string
  /** `download of NAME was cancelled` */
  name: string
  /** Rewrites the network error's text (e.g. to mask credentials); when given, the raw error is not kept as the cause. */
  redact?: (text: string) => string
}

/**
 * fetch for a download, its failures as TsbuildErrors: a cancellation when
 * `signal` aborted, a bad port with its hint, else the network error's cause.
 * Shared by ADD's URLs and URL build contexts, so both say the same.
 */
export async function fetchForDownload (fetchFn: typeof globalThis.fetch, url: string | URL, init: RequestInit & { signal: AbortSignal }, names: DownloadNames): Promise<Response> {
  try {
    return await fetchFn(url, init)
  } catch (err) {
    const keep = names.redact === undefined ? { cause: err } : {}
    if (init.signal.aborted) throw new TsbuildError('CANCELLED', `download of ${names.name} was cancelled`, { cause: err })
    if (isFetchBadPort(err)) throw new TsbuildError('UNAVAILABLE', `cannot download ${names.subject}: bad port`, { ...keep, hint: badPortHint(new URL(url).port) })
    const text = (err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message
    throw new TsbuildError('UNAVAILABLE', `cannot download ${names.subject}: ${names.redact?.(text) ?? text}`, keep)
  }
}

/** A non-2xx answer (or one without a body) as the TsbuildError a user can act on: not found, unauthorized or unavailable. */
export async function failOnHttpError (res: Response, subject: string): Promise<void> {
  if (res.ok && res.body !== null) return
  await res.body?.cancel()
  const code = res.status === 404 || res.status === 410 ? 'NOT_FOUND' : res.status === 401 || res.status === 403 ? 'UNAUTHORIZED' : 'UNAVAILABLE'
  throw new TsbuildError(code, `cannot download ${subject}: HTTP ${res.status} ${res.statusText}`.trimEnd())
}
