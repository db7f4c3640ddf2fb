// Bearer token auth: docker-registry cannot issue tokens itself, so a small
// token server and a proxy that demands its tokens front the real registry.
import { mkdtemp } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { LocalContentStore } from '../../src/cache/content/index.js'
import { hasCode } from '../../src/common/errors.js'
import type { Descriptor } from '../../src/common/oci.js'
import { parsePlatform } from '../../src/common/platform.js'
import { RegistryClient, anonymousCredentials, staticCredentials, type CredentialStore } from '../../src/registry/index.js'
import { startProxy, writeTestImage, writeUpstream, type TestProxy } from '../setup/registry.js'

const registry = inject('registry')
const USER = { username: 'alice', password: 's3cret' }
const repo = `token/${Math.random().toString(36).slice(2, 10)}`

let tokenServer: Server
let realm: string
let proxy: TestProxy
const tokenRequests: Array<{ scope: string[]; service: string | null; authorized: boolean }> = []

/** Tokens are base64 JSON of the scopes granted, so the proxy can check them. */
const issue = (scopes: string[]): string => Buffer.from(JSON.stringify(scopes)).toString('base64url')
const grantedScopes = (header: string | undefined): string[] => {
  if (header?.startsWith('Bearer ') !== true) return []
  try { return JSON.parse(Buffer.from(header.slice(7), 'base64url').toString()) as string[] } catch { return [] }
}

beforeAll(async () => {
  tokenServer = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    const basic = `Basic ${Buffer.from(`${USER.username}:${USER.password}`).toString('base64')}`
    const authorized = req.headers.authorization === basic
    tokenRequests.push({ scope: url.searchParams.getAll('scope'), service: url.searchParams.get('service'), authorized })
    if (!authorized) { res.writeHead(401).end(); return }
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ token: issue(url.searchParams.getAll('scope')), expires_in: 300 }))
  })
  await new Promise<void>((resolve) => tokenServer.listen(0, '127.0.0.1', resolve))
  realm = `http://127.0.0.1:${(tokenServer.address() as { port: number }).port}/token`

  proxy = await startProxy(registry, async (req, res, forward) => {
    const name = /^\/v2\/(.+?)\/(manifests|blobs|tags)\//.exec(req.url)?.[1]
    const needed = name === undefined ? undefined : `repository:${name}:${req.method === 'GET' || req.method === 'HEAD' ? 'pull' : 'pull,push'}`
    const granted = grantedScopes(req.headers.authorization)
    if (needed !== undefined && !granted.includes(needed)) {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm}",service="tsbuild-test",scope="${needed}"`, 'content-type': 'application/json' })
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }))
      return
    }
    delete req.headers.authorization
    writeUpstream(res, await forward())
  })
})
afterAll(async () => {
  await proxy?.close()
  await new Promise((resolve) => tokenServer?.close(resolve))
})

const client = (auth: CredentialStore): RegistryClient => new RegistryClient({ auth, retry: { attempts: 2, baseDelayMs: 10 } })

describe('Bearer token auth', () => {
  test('push and pull with tokens for the right scopes, each fetched once', async () => {
    const store = new LocalContentStore(await mkdtemp(join(tmpdir(), 'tsbuild-store-')))
    const img = await writeTestImage(store, { platform: 'linux/amd64', files: { t: 'token' } })
    const c = client(staticCredentials({ [proxy.host]: USER }))
    const ref = `${proxy.host}/${repo}:v1`

    await c.pushImage(store, img.manifest as Descriptor, ref)
    const pushTokens = tokenRequests.filter((t) => t.scope.includes(`repository:${repo}:pull,push`))
    expect(pushTokens).toHaveLength(1)
    expect(pushTokens[0]).toMatchObject({ service: 'tsbuild-test', authorized: true })

    const r = await c.pullImage(ref, parsePlatform('linux/amd64'), new LocalContentStore(await mkdtemp(join(tmpdir(), 'tsbuild-pull-'))))
    expect(r.manifestDescriptor.digest).toBe(img.manifest.digest)
    // Pushing asked for pull,push; pulling asks once more, for pull alone.
    expect(tokenRequests.filter((t) => t.scope.join(' ') === `repository:${repo}:pull`)).toHaveLength(1)
    expect(tokenRequests).toHaveLength(2)
  })

  test.each([
    ['credentials for another registry only', staticCredentials({ 'other.example:5000': USER }), /anonymous access was refused/],
    ['no credentials', anonymousCredentials, /anonymous access was refused/],
  ])('%s is UNAUTHORIZED', async (_name, auth, message) => {
    let err: unknown
    try { await client(auth).resolve(`${proxy.host}/${repo}:v1`, parsePlatform('linux/amd64')) } catch (e) { err = e }
    expect(hasCode(err, 'UNAUTHORIZED')).toBe(true)
    expect((err as Error).message).toMatch(message)
    expect((err as Error).message).toContain(`${proxy.host}/${repo}:v1`)
  })

  test('rejected credentials are reported as such', async () => {
    let err: unknown
    try {
      await client(staticCredentials({ [proxy.host]: { username: 'alice', password: 'nope' } })).resolve(`${proxy.host}/${repo}:v1`, parsePlatform('linux/amd64'))
    } catch (e) { err = e }
    expect(hasCode(err, 'UNAUTHORIZED')).toBe(true)
    expect((err as Error).message).toMatch(/credentials were rejected by the token server/)
  })
})
