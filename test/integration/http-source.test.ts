import { createHash } from 'node:crypto'
import { lstat, mkdtemp, readdir, readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { Snapshotter, snapshotName } from '../../src/cache/snapshots/index.js'
import type { Digest } from '../../src/common/digest.js'
import { hasCode, TsbuildError } from '../../src/common/errors.js'
import type { HttpSourceAttrs } from '../../src/llb/index.js'
import type { SolveEvent } from '../../src/solver/events.js'
import { HttpSource } from '../../src/solver/ops/source/http.js'
import type { OpContext } from '../../src/solver/scheduler/types.js'

const isRoot = process.getuid?.() === 0
const files = new Map<string, { body: string; etag?: string; lastModified?: string }>()
const requests: Array<{ path: string; ifNoneMatch?: string }> = []
let base = ''
const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  const path = req.url ?? '/'
  requests.push({ path, ...(req.headers['if-none-match'] !== undefined ? { ifNoneMatch: req.headers['if-none-match'] } : {}) })
  const f = files.get(path)
  if (f === undefined) { res.writeHead(404, 'Not Found').end(); return }
  if (f.etag !== undefined && req.headers['if-none-match'] === f.etag) { res.writeHead(304).end(); return }
  res.writeHead(200, { 'content-length': Buffer.byteLength(f.body), ...(f.etag !== undefined ? { etag: f.etag } : {}), ...(f.lastModified !== undefined ? { 'last-modified': f.lastModified } : {}) })
  res.end(f.body)
})

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => { await new Promise((resolve) => server.close(resolve)) })

const digestOf = (s: string): Digest => `sha256:${createHash('sha256').update(s).digest('hex')}` as Digest
const ctx = (events: SolveEvent[] = []): OpContext => ({ signal: new AbortController().signal, emit: (e) => events.push(e), vertex: digestOf('v') })

async function setup (): Promise<{ stateDir: string; snapshotter: Snapshotter; source: (a: Omit<HttpSourceAttrs, 'type'>) => HttpSource }> {
  const stateDir = await mkdtemp(join(tmpdir(), 'tsbuild-http-'))
  const snapshotter = new Snapshotter(stateDir, 'copy')
  return { stateDir, snapshotter, source: (a) => new HttpSource({ type: 'http', ...a }, { snapshotter, stateDir }) }
}

async function fileIn (snapshotter: Snapshotter, name: string | undefined): Promise<{ names: string[]; path: string }> {
  const info = await snapshotter.stat(snapshotName(name ?? ''))
  if (info === undefined) throw new Error(`no snapshot ${name}`)
  const names = await readdir(info.diffPath)
  return { names, path: join(info.diffPath, names[0] ?? '') }
}

describe.skipIf(!isRoot)('http source (root: files are chowned)', () => {
  test('without a checksum: downloads, keys by content, one file named after the URL with mode 0600 and mtime from Last-Modified', async () => {
    files.set('/dl/tool.sh', { body: 'echo tool\n', lastModified: 'Wed, 21 Oct 2015 07:28:00 GMT' })
    const { snapshotter, source } = await setup()
    const events: SolveEvent[] = []
    const op = source({ url: `${base}/dl/tool.sh` })
    const cm = await op.cacheMap(ctx(events))
    expect(cm.explain?.['content']).toBe(digestOf('echo tool\n'))
    const before = requests.length
    const result = await op.exec(ctx(events))
    expect(requests.length).toBe(before) // exec reuses the download made for the cache key
    const { names, path } = await fileIn(snapshotter, result.layers?.[0])
    expect(names).toEqual(['tool.sh'])
    expect(await readFile(path, 'utf8')).toBe('echo tool\n')
    const st = await lstat(path)
    expect(st.mode & 0o7777).toBe(0o600)
    expect(st.mtime.toISOString()).toBe('2015-10-21T07:28:00.000Z')
    expect(events.some((e) => e.type === 'progress' && e.done === true && e.current === 10)).toBe(true)
  })

  test('same content from another URL has the same cache key; different content a different one', async () => {
    files.set('/a/x', { body: 'same' })
    files.set('/b/x', { body: 'same' })
    files.set('/c/x', { body: 'other' })
    const { source } = await setup()
    const [a, b, c] = await Promise.all(['/a/x', '/b/x', '/c/x'].map(async (p) => (await source({ url: base + p }).cacheMap(ctx())).digest))
    expect(a).toBe(b)
    expect(c).not.toBe(a)
  })

  test('with a checksum: filename, chmod and owner apply; the key needs no download and an existing snapshot is reused', async () => {
    files.set('/pkg.tgz', { body: 'tarball' })
    const { snapshotter, source } = await setup()
    const attrs = { url: `${base}/pkg.tgz`, checksum: digestOf('tarball'), filename: 'renamed.tgz', chmod: 0o644, uid: 1000, gid: 1001 }
    const before = requests.length
    const cm = await source(attrs).cacheMap(ctx())
    expect(requests.length).toBe(before)
    const result = await source(attrs).exec(ctx())
    expect(requests.length).toBe(before + 1)
    const { names, path } = await fileIn(snapshotter, result.layers?.[0])
    expect(names).toEqual(['renamed.tgz'])
    const st = await lstat(path)
    expect([st.mode & 0o7777, st.uid, st.gid]).toEqual([0o644, 1000, 1001])
    const again = await source(attrs).exec(ctx())
    expect(again.layers?.[0]).toBe(result.layers?.[0])
    expect(requests.length).toBe(before + 1)
    expect((await source({ ...attrs, chmod: 0o755 }).cacheMap(ctx())).digest).not.toBe(cm.digest)
  })

  test('a wrong checksum fails naming the URL and both digests', async () => {
    files.set('/bad', { body: 'actual' })
    const { source, stateDir } = await setup()
    const want = digestOf('expected')
    const err = await source({ url: `${base}/bad`, checksum: want }).exec(ctx()).catch((e: unknown) => e)
    expect(hasCode(err, 'DIGEST_MISMATCH')).toBe(true)
    expect((err as Error).message).toContain(`${base}/bad`)
    expect((err as Error).message).toContain(want)
    expect((err as Error).message).toContain(digestOf('actual'))
    expect(await readdir(join(stateDir, 'tmp'))).toEqual([]) // the partial download is gone
  })

  test('404 fails naming the URL and the status', async () => {
    const { source } = await setup()
    const err = await source({ url: `${base}/missing.txt` }).cacheMap(ctx()).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TsbuildError)
    expect(hasCode(err, 'NOT_FOUND')).toBe(true)
    expect((err as Error).message).toMatch(new RegExp(`${base}/missing.txt.*404`))
  })

  test('connection refused is UNAVAILABLE and names the URL', async () => {
    const { source } = await setup()
    const err = await source({ url: 'http://127.0.0.1:1/x' }).cacheMap(ctx()).catch((e: unknown) => e)
    expect(hasCode(err, 'UNAVAILABLE')).toBe(true)
    expect((err as Error).message).toContain('http://127.0.0.1:1/x')
  })

  test('the next build sends the ETag; a 304 reuses the previous snapshot, a changed file is downloaded again', async () => {
    files.set('/etag', { body: 'v1', etag: '"v1"' })
    const { source } = await setup()
    const first = source({ url: `${base}/etag` })
    const k1 = (await first.cacheMap(ctx())).digest
    const s1 = (await first.exec(ctx())).layers?.[0]
    const second = source({ url: `${base}/etag` })
    const k2 = (await second.cacheMap(ctx())).digest
    expect(requests.at(-1)).toEqual({ path: '/etag', ifNoneMatch: '"v1"' })
    expect(k2).toBe(k1)
    expect((await second.exec(ctx())).layers?.[0]).toBe(s1)
    files.set('/etag', { body: 'v2', etag: '"v2"' })
    const third = source({ url: `${base}/etag` })
    expect((await third.cacheMap(ctx())).digest).not.toBe(k1)
  })

  test('two builds downloading the same URL at once on one state dir agree', async () => {
    files.set('/race', { body: 'x'.repeat(100_000) })
    const { source } = await setup()
    const results = await Promise.all([0, 1, 2].map(async () => { const op = source({ url: `${base}/race` }); await op.cacheMap(ctx()); return await op.exec(ctx()) }))
    expect(new Set(results.map((r) => r.layers?.[0])).size).toBe(1)
  })

  test.each([['/', 'index'], ['/dir/', 'dir'], ['/a%20b', 'a b']])('URL path %j gives file name %j', async (path, want) => {
    expect(new HttpSource({ type: 'http', url: base + path }, { snapshotter: new Snapshotter('/nonexistent', 'copy'), stateDir: '/nonexistent' }).filename).toBe(want)
  })
})
