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
