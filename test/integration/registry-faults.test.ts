// Failure handling against the real registry behind a fault-injecting proxy:
// 503 + Retry-After, connection resets, truncated and corrupted bodies,
// oversized and unsupported manifests, a registry that is down.
import { randomBytes } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, inject, test } from 'vitest'
import { LocalContentStore } from '../../src/cache/content/index.js'
import type { Digest } from '../../src/common/digest.js'
import { hasCode, type ErrorCode } from '../../src/common/errors.js'
import type { Descriptor } from '../../src/common/oci.js'
import { parsePlatform } from '../../src/common/platform.js'
import { RegistryClient, anonymousCredentials } from '../../src/registry/index.js'
import { freePort, startProxy, writeTestImage, writeUpstream, type ProxyHandler, type TestProxy } from '../setup/registry.js'

const registry = inject('registry')
const amd64 = parsePlatform('linux/amd64')
const fastRetry = { attempts: 4, baseDelayMs: 20, maxDelayMs: 2000 }

let src: LocalContentStore
let store: LocalContentStore
let repo: string
let layer: Descriptor
let proxy: TestProxy | undefined

beforeEach(async () => {
  src = new LocalContentStore(await mkdtemp(join(tmpdir(), 'tsbuild-src-')))
  store = new LocalContentStore(await mkdtemp(join(tmpdir(), 'tsbuild-store-')))
  repo = `faults/${Math.random().toString(36).slice(2, 10)}`
  const big = randomBytes(200 * 1024) // incompressible, so the gzip layer stays big
  const img = await writeTestImage(src, { platform: 'linux/amd64', files: { big } })
  await new RegistryClient({ auth: anonymousCredentials }).pushImage(src, img.manifest as Descriptor, `${registry}/${repo}:v1`)
  layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: img.layerDigests[0] as Digest, size: (await src.info(img.layerDigests[0] as Digest))!.size }
})
afterEach(async () => { await proxy?.close(); proxy = undefined })

async function viaProxy (handler: ProxyHandler): Promise<RegistryClient> {
  proxy = await startProxy(registry, handler)
  return new RegistryClient({ auth: anonymousCredentials, retry: fastRetry })
}
const isBlob = (url: string): boolean => url.includes('/blobs/sha256:') && !url.includes('uploads')
const at = (): string => `${proxy!.host}/${repo}:v1`

async function expectCode (p: Promise<unknown>, code: ErrorCode, message: RegExp): Promise<void> {
  let err: unknown
  try { await p } catch (e) { err = e }
  expect(hasCode(err, code), String(err)).toBe(true)
  expect((err as Error).message).toMatch(message)
}

describe('retries', () => {
  test('503 with Retry-After is waited out and retried', async () => {
    let failures = 0
    const c = await viaProxy(async (req, res, forward) => {
      if (req.url.includes('/manifests/') && failures < 2) {
        failures++
        res.writeHead(503, { 'retry-after': '1' }).end()
        return
      }
      writeUpstream(res, await forward())
    })
    const started = Date.now()
    const r = await c.pullImage(at(), amd64, store)
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900)
    expect(failures).toBe(2)
    expect(await store.info(r.manifest.layers[0]!.digest)).toBeDefined()
  })

  test('a registry that keeps failing is UNAVAILABLE after the configured tries', async () => {
    const c = await viaProxy(async (_req, res) => { res.writeHead(502).end() })
    await expectCode(c.resolve(at(), amd64), 'UNAVAILABLE', /HTTP 502 .* after 4 tries/)
    expect(proxy!.seen).toHaveLength(4)
  })

  test('connection resets are retried', async () => {
    let resets = 0
    const c = await viaProxy(async (req, res, forward) => {
      if (resets < 2) { resets++; res.socket?.destroy(); return }
      writeUpstream(res, await forward())
    })
    const r = await c.resolve(at(), amd64)
    expect(r.manifest.layers[0]!.digest).toBe(layer.digest)
    expect(resets).toBe(2)
  })

  test('a registry on a port Node\'s fetch blocks (6000) fails at once, saying why', async () => {
    const c = new RegistryClient({ auth: anonymousCredentials, retry: { attempts: 5, baseDelayMs: 1000, maxDelayMs: 1000 } })
    const started = Date.now()
    let err: unknown
    try { await c.resolve('127.0.0.1:6000/x/y:1', amd64) } catch (e) { err = e }
    expect(hasCode(err, 'UNAVAILABLE')).toBe(true)
    expect((err as Error).message).toMatch(/cannot connect to registry 127\.0\.0\.1:6000: bad port/)
    expect((err as { hint?: string }).hint).toMatch(/port 6000 is on the Fetch standard's list of blocked ports/)
    expect(Date.now() - started).toBeLessThan(900) // not retried
  })

  test('a registry that is down is UNAVAILABLE naming the image', async () => {
    const host = `127.0.0.1:${await freePort()}`
    const c = new RegistryClient({ auth: anonymousCredentials, retry: fastRetry })
    await expectCode(c.resolve(`${host}/x/y:z`, amd64), 'UNAVAILABLE', new RegExp(`${host}/x/y:z: registry ${host} is unreachable after 4 tries`))
  })
})

describe('blob downloads', () => {
  test('a body cut short is resumed with a Range request', async () => {
    let cuts = 0
    const c = await viaProxy(async (req, res, forward) => {
      const up = await forward()
      if (isBlob(req.url) && req.method === 'GET' && cuts < 2) {
        cuts++
        // Promise the whole body, send a third of it, then drop the connection.
        res.writeHead(up.status, up.headers)
        res.write(up.body.subarray(0, Math.floor(up.body.length / 3)), () => res.socket?.destroy())
        return
      }
      writeUpstream(res, up)
    })
    await c.fetchBlob(at(), layer, store)
    expect((await store.info(layer.digest))?.size).toBe(layer.size)
    const ranges = proxy!.seen.filter((r) => isBlob(r.url)).map((r) => r.headers.range)
    expect(ranges[0]).toBeUndefined()
    expect(ranges[1]).toMatch(/^bytes=\d+-$/)
    expect(Number(ranges[1]!.slice(6, -1))).toBeGreaterThan(0)
  })

  test('a blob that stays truncated fails with SIZE_MISMATCH and leaves nothing in the store', async () => {
    const c = await viaProxy(async (req, res, forward) => {
      const up = await forward()
      if (isBlob(req.url) && req.method === 'GET') {
        res.writeHead(up.status, up.headers)
        res.write(up.body.subarray(0, 100), () => res.socket?.destroy())
        return
      }
      writeUpstream(res, up)
    })
    await expectCode(c.fetchBlob(at(), layer, store), 'SIZE_MISMATCH', new RegExp(`${layer.digest}: download truncated at \\d+ of ${layer.size} bytes`))
    expect(await store.info(layer.digest)).toBeUndefined()
  })

  test('corrupted bytes are DIGEST_MISMATCH and never committed', async () => {
    const c = await viaProxy(async (req, res, forward) => {
      const up = await forward()
      if (isBlob(req.url) && req.method === 'GET') up.body[up.body.length - 1] ^= 0xff
      writeUpstream(res, up)
    })
    await expectCode(c.fetchBlob(at(), layer, store), 'DIGEST_MISMATCH', new RegExp(`${repo}:v1: blob ${layer.digest}`))
    expect(await store.info(layer.digest)).toBeUndefined()
  })
})

describe('manifests', () => {
  const bigManifest = (): Buffer => Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: {}, layers: [], annotations: { pad: 'x'.repeat(4 * 1024 * 1024) },
  }))

  test.each([
    ['declared by Content-Length', true],
    ['found while reading a chunked body', false],
  ])('over 4 MiB is TOO_LARGE (%s)', async (_name, withLength) => {
    const c = await viaProxy(async (req, res, forward) => {
      if (!req.url.includes('/manifests/')) { writeUpstream(res, await forward()); return }
      const body = bigManifest()
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', ...(withLength ? { 'content-length': String(body.length) } : {}) })
      res.end(body)
    })
    await expectCode(c.resolve(at(), amd64), 'TOO_LARGE', /manifest .*over the 4194304-byte limit/)
  })

  test('an unsupported media type is named in the error', async () => {
    const c = await viaProxy(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' })
      res.end(JSON.stringify({ schemaVersion: 1, name: 'x', tag: 'v1', fsLayers: [] }))
    })
    await expectCode(c.resolve(at(), amd64), 'UNSUPPORTED_MEDIA_TYPE', /unsupported manifest media type application\/vnd\.docker\.distribution\.manifest\.v1\+prettyjws/)
  })

  test('chunked uploads send Content-Range PATCHes, then a PUT with the digest', async () => {
    proxy = await startProxy(registry)
    const c = new RegistryClient({ auth: anonymousCredentials, retry: fastRetry, chunkSize: 64 * 1024 })
    const target = `${proxy.host}/${repo}-up:x`
    expect(await c.pushBlob(target, layer, src)).toBe('uploaded')
    const patches = proxy.seen.filter((r) => r.method === 'PATCH')
    expect(patches.length).toBeGreaterThan(2)
    expect(patches.map((r) => r.headers['content-range'])).toEqual(
      Array.from({ length: Math.ceil(layer.size / 65536) }, (_, i) => `${i * 65536}-${Math.min(layer.size, (i + 1) * 65536) - 1}`))
    expect(proxy.seen.at(-1)?.method).toBe('PUT')
    expect(proxy.seen.at(-1)?.url).toContain(`digest=${encodeURIComponent(layer.digest)}`)
    expect(await c.pushBlob(target, layer, src)).toBe('exists')
  })

  test('a chunk the registry kept only part of, with the connection lost, is pushed again in a new upload session', async () => {
    const chunkSize = 64 * 1024
    let isCut = false
    proxy = await startProxy(registry, async (req, res, forward) => {
      const patches = proxy?.seen.filter((r) => r.method === 'PATCH').length ?? 0
      if (req.method === 'PATCH' && patches === 2 && !isCut) {
        // The registry gets the first half of the second chunk; the client never hears back.
        isCut = true
        const half = req.body.subarray(0, req.body.length / 2)
        const start = Number(String(req.headers['content-range']).split('-')[0])
        await new Promise<void>((resolve, reject) => {
          const [hostname, port] = registry.split(':') as [string, string]
          const up = httpRequest({
            hostname, port: Number(port), method: 'PATCH', path: req.url,
            headers: { ...req.headers, 'content-length': String(half.length), 'content-range': `${start}-${start + half.length - 1}` },
          }, (r) => { r.resume(); r.on('end', resolve) })
          up.on('error', reject)
          up.end(half)
        })
        res.socket?.destroy()
        return
      }
      writeUpstream(res, await forward())
    })
    const c = new RegistryClient({ auth: anonymousCredentials, retry: fastRetry, chunkSize })
    const target = `${proxy.host}/${repo}-resume:x`
    expect(await c.pushBlob(target, layer, src)).toBe('uploaded')
    expect(isCut).toBe(true)
    expect(proxy.seen.filter((r) => r.method === 'POST')).toHaveLength(2)
    // What the registry now serves is the whole blob, verified against its digest on the way in.
    const back = new LocalContentStore(await mkdtemp(join(tmpdir(), 'tsbuild-back-')))
    await new RegistryClient({ auth: anonymousCredentials }).fetchBlob(`${registry}/${repo}-resume:x`, layer, back)
    expect((await back.info(layer.digest))?.size).toBe(layer.size)
  })

  test('an upload that keeps breaking fails after three sessions with the registry\'s answer', async () => {
    proxy = await startProxy(registry, async (req, res, forward) => {
      if (req.method === 'PATCH') { res.writeHead(400, { 'content-type': 'application/json' }); res.end(JSON.stringify({ errors: [{ code: 'BLOB_UPLOAD_INVALID', message: 'blob upload invalid' }] })); return }
      writeUpstream(res, await forward())
    })
    const c = new RegistryClient({ auth: anonymousCredentials, retry: fastRetry, chunkSize: 64 * 1024 })
    await expectCode(c.pushBlob(`${proxy.host}/${repo}-broken:x`, layer, src), 'UNAVAILABLE', /uploading bytes 0-65535: registry answered HTTP 400: blob upload invalid/)
    expect(proxy.seen.filter((r) => r.method === 'POST')).toHaveLength(3)
  })
})
