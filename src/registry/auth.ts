import { TsbuildError } from '../common/errors.js'
import type { CredentialStore, Credentials } from './credentials.js'
import { isLoopbackRegistry } from './loopback.js'

/** One parsed `WWW-Authenticate` challenge. */
export interface AuthChallenge {
  scheme: string // lowercased: 'bearer' | 'basic' | …
  params: Record<string, string>
}

/** Parse `Bearer realm="…",service="…",scope="a b"` (several challenges may share one header). */
export function parseAuthChallenges (header: string): AuthChallenge[] {
  const out: AuthChallenge[] = []
  let i = 0
  const skip = (re: RegExp): string => {
    re.lastIndex = i
    const m = re.exec(header)
    if (m === null) return ''
    i = re.lastIndex
    return m[0]
  }
  while (i < header.length) {
    skip(/[\s,]*/y)
    const word = skip(/[A-Za-z0-9!#$%&'*+.^_`|~-]+/y)
    if (word === '') break
    const save = i
    skip(/\s*/y)
    if (header[i] === '=') {
      i++
      skip(/\s*/y)
      let value: string
      if (header[i] === '"') {
        const q = skip(/"((?:[^"\\]|\\.)*)"/y)
        value = q.slice(1, -1).replace(/\\(.)/g, '$1')
      } else {
        value = skip(/[^,\s]*/y)
      }
      const current = out[out.length - 1]
      if (current !== undefined) current.params[word.toLowerCase()] = value
    } else {
      i = save
      out.push({ scheme: word.toLowerCase(), params: {} })
    }
  }
  return out
}

interface CachedToken { token: string; expiresAt: number }

export interface AuthorizerOptions {
  credentials: CredentialStore
  fetch: typeof fetch
  now?: () => number
}

/**
 * Answers registry auth challenges and caches the result: Bearer tokens per
 * (registry, scope set) until they expire, and the knowledge that a registry
 * wants Basic auth so later requests send it up front.
 */
export class Authorizer {
  private readonly tokens = new Map<string, CachedToken>()
  private readonly basicHosts = new Map<string, string>()
  private readonly pending = new Map<string, Promise<string>>()
  private readonly opts: AuthorizerOptions

  constructor (opts: AuthorizerOptions) {
    this.opts = opts
  }

  /** The Authorization header to send before any challenge, when one is known. */
  async headerFor (registry: string, scopes: readonly string[]): Promise<string | undefined> {
    const basic = this.basicHosts.get(registry)
    if (basic !== undefined) return basic
    const cached = this.tokens.get(tokenKey(registry, scopes))
    if (cached !== undefined && cached.expiresAt > this.now()) return `Bearer ${cached.token}`
    return undefined
  }

  /**
   * Handle a 401: obtain what the challenge asks for and return the header to
   * retry with. Throws UNAUTHORIZED when no usable credentials exist.
   */
  async answer (registry: string, scopes: readonly string[], wwwAuthenticate: string | null, image: string, signal?: AbortSignal): Promise<string> {
    const challenges = parseAuthChallenges(wwwAuthenticate ?? '')
    const bearer = challenges.find((c) => c.scheme === 'bearer')
    const creds = await this.opts.credentials.get(registry)
    if (bearer !== undefined && bearer.params.realm !== undefined) {
      const allScopes = [...new Set([...scopes, ...(bearer.params.scope?.split(' ').filter(Boolean) ?? [])])]
      const key = tokenKey(registry, scopes)
      let p = this.pending.get(key)
      if (p === undefined) {
        p = this.fetchToken({ realm: bearer.params.realm, service: bearer.params.service, scopes: allScopes, creds, registry, image, signal })
          .then((t) => { this.tokens.set(key, t); return t.token })
          .finally(() => this.pending.delete(key))
        this.pending.set(key, p)
      }
      const token = await p
      return `Bearer ${token}`
    }
    if (challenges.some((c) => c.scheme === 'basic') || challenges.length === 0) {
      if (creds === undefined || !('username' in creds)) {
        throw new TsbuildError('UNAUTHORIZED', `${image}: registry ${registry} requires authentication and no credentials are configured for it`, {
          hint: `log in with docker login ${registry}, or add the registry to config.json in $DOCKER_CONFIG (default ~/.docker)`,
        })
      }
      const header = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`
      this.basicHosts.set(registry, header)
      return header
    }
    throw new TsbuildError('UNAUTHORIZED', `${image}: registry ${registry} asks for an unsupported auth scheme (${wwwAuthenticate})`)
  }

  /** Forget a rejected Basic header so the next 401 is reported instead of looping. */
  forget (registry: string, scopes: readonly string[]): void {
    this.basicHosts.delete(registry)
    this.tokens.delete(tokenKey(registry, scopes))
  }

  private async fetchToken (o: { realm: string; service?: string; scopes: string[]; creds?: Credentials; registry: string; image: string; signal?: AbortSignal }): Promise<CachedToken> {
    let url: URL
    try {
      url = new URL(o.realm)
    } catch {
      throw new TsbuildError('UNAUTHORIZED', `${o.image}: registry ${o.registry} sent an invalid token realm ${JSON.stringify(o.realm)}`)
    }
    // Credentials travel to the token server only encrypted (or within this machine).
    if (o.creds !== undefined && url.protocol !== 'https:' && !isLoopbackRegistry(url.host)) {
      throw new TsbuildError('UNAUTHORIZED', `${o.image}: registry ${o.registry} asks for credentials at ${url.origin}, over plain ${url.protocol.replace(':', '')}: tsbuild sends them only over https`, {
        hint: 'a registry should name an https token server; check that this registry is the one you meant',
      })
    }
    const headers: Record<string, string> = {}
    let res: Response
    try {
      if (o.creds !== undefined && 'identityToken' in o.creds) {
        // OAuth2 refresh-token grant, as Docker does for identity tokens.
        const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: o.creds.identityToken, client_id: 'tsbuild', scope: o.scopes.join(' ') })
        if (o.service !== undefined) form.set('service', o.service)
        res = await this.opts.fetch(url, { method: 'POST', body: form, signal: o.signal })
      } else {
        if (o.service !== undefined) url.searchParams.set('service', o.service)
        for (const s of o.scopes) url.searchParams.append('scope', s)
        if (o.creds !== undefined) headers.authorization = `Basic ${Buffer.from(`${o.creds.username}:${o.creds.password}`).toString('base64')}`
        res = await this.opts.fetch(url, { headers, signal: o.signal })
      }
    } catch (err) {
      throw new TsbuildError('UNAVAILABLE', `${o.image}: token server ${url.origin} is unreachable: ${(err as Error).message}`, { cause: err })
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel()
      throw new TsbuildError('UNAUTHORIZED', `${o.image}: ${o.creds ? 'credentials were rejected' : 'anonymous access was refused'} by the token server of ${o.registry}`)
    }
    if (!res.ok) {
      await res.body?.cancel()
      throw new TsbuildError('UNAVAILABLE', `${o.image}: token server of ${o.registry} answered HTTP ${res.status}`)
    }
    const body = await res.json() as { token?: string; access_token?: string; expires_in?: number }
    const token = body.token ?? body.access_token
    if (typeof token !== 'string' || token === '') throw new TsbuildError('UNAUTHORIZED', `${o.image}: token server of ${o.registry} returned no token`)
    // Refresh a little early so a token never expires mid-request.
    const lifetime = Math.max(10, (body.expires_in ?? 60) - 5)
    return { token, expiresAt: this.now() + lifetime * 1000 }
  }

  private now (): number {
    return (this.opts.now ?? Date.now)()
  }
}

function tokenKey (registry: string, scopes: readonly string[]): string {
  return `${registry}|${[...scopes].sort().join(' ')}`
}

/** The scope strings for a repository action, as the distribution token spec writes them. */
export function repositoryScope (repository: string, actions: 'pull' | 'push'): string {
  return `repository:${repository}:${actions === 'push' ? 'pull,push' : 'pull'}`
}
