import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { hasCode } from '../common/errors.js'
import { Authorizer, parseAuthChallenges } from './auth.js'
import { dockerConfigCredentials } from './credentials.js'

describe('parseAuthChallenges', () => {
  test.each([
    ['Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
      [{ scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' } }]],
    ['Basic realm="Registry Realm"', [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]],
    ['bearer realm=https://x/t, scope="a:b:pull b:c:push"', [{ scheme: 'bearer', params: { realm: 'https://x/t', scope: 'a:b:pull b:c:push' } }]],
    ['Basic realm="a", Bearer realm="b",service="s"', [{ scheme: 'basic', params: { realm: 'a' } }, { scheme: 'bearer', params: { realm: 'b', service: 's' } }]],
    ['Bearer realm="with \\"quote\\""', [{ scheme: 'bearer', params: { realm: 'with "quote"' } }]],
    ['', []],
  ])('%s', (header, want) => {
    expect(parseAuthChallenges(header)).toEqual(want)
  })
})

describe('dockerConfigCredentials', () => {
  const configDir = async (config: unknown): Promise<string> => {
    const dir = await mkdtemp(join(tmpdir(), 'tsbuild-dockercfg-'))
    await writeFile(join(dir, 'config.json'), JSON.stringify(config))
    return dir
  }
  const b64 = (s: string): string => Buffer.from(s).toString('base64')

  test('auths: base64 auth, username/password, identity token, URL keys and Docker Hub', async () => {
    const dir = await configDir({
      auths: {
        'localhost:5000': { auth: b64('u:p:with:colons') },
        'https://ghcr.io/v2/': { username: 'g', password: 'h' },
        'https://index.docker.io/v1/': { auth: b64('hub:pw') },
        'tok.example': { identitytoken: 'refresh' },
      },
    })
    const store = dockerConfigCredentials({ env: { DOCKER_CONFIG: dir } })
    expect(await store.get('localhost:5000')).toEqual({ username: 'u', password: 'p:with:colons' })
    expect(await store.get('ghcr.io')).toEqual({ username: 'g', password: 'h' })
    expect(await store.get('docker.io')).toEqual({ username: 'hub', password: 'pw' })
    expect(await store.get('tok.example')).toEqual({ identityToken: 'refresh' })
    expect(await store.get('other.example')).toBeUndefined()
  })

  test('HOME/.docker is used without DOCKER_CONFIG; a missing file means anonymous', async () => {
    const home = await mkdtemp(join(tmpdir(), 'tsbuild-home-'))
    expect(await dockerConfigCredentials({ env: { HOME: home } }).get('r.example')).toBeUndefined()
    await mkdir(join(home, '.docker'))
    await writeFile(join(home, '.docker', 'config.json'), JSON.stringify({ auths: { 'r.example': { auth: b64('a:b') } } }))
    expect(await dockerConfigCredentials({ env: { HOME: home } }).get('r.example')).toEqual({ username: 'a', password: 'b' })
  })

  test('credHelpers win over credsStore, which wins over auths; <token> means identity token', async () => {
    const dir = await configDir({ credHelpers: { 'ecr.example': 'ecr' }, credsStore: 'desktop', auths: { 'x.example': { auth: b64('a:b') } } })
    const calls: string[] = []
    const store = dockerConfigCredentials({
      env: { DOCKER_CONFIG: dir },
      runHelper: async (helper, url) => {
        calls.push(`${helper} ${url}`)
        if (helper === 'ecr') return JSON.stringify({ ServerURL: url, Username: 'AWS', Secret: 'pw' })
        if (url === 'https://index.docker.io/v1/') return JSON.stringify({ Username: '<token>', Secret: 'rt' })
        return ''
      },
    })
    expect(await store.get('ecr.example')).toEqual({ username: 'AWS', password: 'pw' })
    expect(await store.get('docker.io')).toEqual({ identityToken: 'rt' })
    expect(await store.get('x.example')).toEqual({ username: 'a', password: 'b' })
    expect(calls).toEqual(['ecr ecr.example', 'desktop https://index.docker.io/v1/', 'desktop x.example'])
  })

  test('a broken auth entry is an error naming the file and registry', async () => {
    const dir = await configDir({ auths: { 'r.example': { auth: b64('nocolon') } } })
    let err: unknown
    try { await dockerConfigCredentials({ env: { DOCKER_CONFIG: dir } }).get('r.example') } catch (e) { err = e }
    expect(hasCode(err, 'UNAUTHORIZED')).toBe(true)
    expect((err as Error).message).toContain(join(dir, 'config.json'))
    expect((err as Error).message).toContain('r.example')
  })

  test('a missing credential helper binary is MISSING_DEPENDENCY', async () => {
    const dir = await configDir({ credsStore: 'tsbuild-does-not-exist' })
    let err: unknown
    try { await dockerConfigCredentials({ env: { DOCKER_CONFIG: dir, PATH: '/nonexistent' } }).get('r.example') } catch (e) { err = e }
    expect(hasCode(err, 'MISSING_DEPENDENCY')).toBe(true)
    expect((err as Error).message).toContain('docker-credential-tsbuild-does-not-exist')
  })
})

describe('token realms', () => {
  const challenge = (realm: string): string => `Bearer realm="${realm}",service="reg"`
  const setup = () => {
    const asked: string[] = []
    const auth = new Authorizer({
      credentials: { get: async () => ({ username: 'alice', password: 's3cret' }) },
      fetch: (async (url: URL | string) => {
        asked.push(String(url))
        return new Response(JSON.stringify({ token: 't0k' }), { status: 200 })
      }) as typeof fetch,
    })
    return { auth, asked }
  }

  test('credentials go to an https realm, or a plain http one on this machine', async () => {
    const { auth, asked } = setup()
    expect(await auth.answer('reg.example.com', ['repository:a:pull'], challenge('https://auth.example.com/token'), 'img')).toBe('Bearer t0k')
    expect(await auth.answer('127.0.0.1:5000', ['repository:b:pull'], challenge('http://localhost:5001/token'), 'img')).toBe('Bearer t0k')
    expect(asked).toHaveLength(2)
  })

  test('credentials are never sent to a plain http realm on another machine', async () => {
    const { auth, asked } = setup()
    let err: unknown
    try { await auth.answer('reg.example.com', ['repository:a:pull'], challenge('http://evil.example.net/token'), 'img') } catch (e) { err = e }
    expect(hasCode(err, 'UNAUTHORIZED')).toBe(true)
    expect((err as Error).message).toMatch(/http:\/\/evil\.example\.net, over plain http: tsbuild sends them only over https/)
    expect(asked).toEqual([])
  })
})
