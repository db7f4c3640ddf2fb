// A real loopback registry (Debian's docker-registry, distribution v2.8) for
// the integration tests: free 127.0.0.1 port, temp storage, generated config.
import { createHash } from 'node:crypto'
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer as createHttpServer, request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerResponse } from 'node:http'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { gzipSync } from 'node:zlib'
import tarStream from 'tar-stream'

const REGISTRY_BIN = '/usr/bin/docker-registry'

export interface RegistryUser { username: string; password: string }

export interface LoopbackRegistry {
  /** host:port, e.g. `127.0.0.1:40123`. */
  host: string
  url: string
  /** Present for the htpasswd variant. */
  user?: RegistryUser
  storageDir: string
  stop (): Promise<void>
}

export interface StartRegistryOptions {
  /** Require basic auth with this user (htpasswd, bcrypt). */
  htpasswd?: RegistryUser
}

/** A TCP port nothing listens on right now. */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port
      srv.close(() => resolve(port))
    })
  })
}

export async function startRegistry (opts: StartRegistryOptions = {}): Promise<LoopbackRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-registry-'))
  const port = await freePort()
  const host = `127.0.0.1:${port}`
  let auth = ''
  if (opts.htpasswd !== undefined) {
    const { stdout } = await promisify(execFile)('htpasswd', ['-Bbn', opts.htpasswd.username, opts.htpasswd.password])
    await writeFile(join(dir, 'htpasswd'), stdout)
    auth = `auth:\n  htpasswd:\n    realm: tsbuild-test\n    path: ${join(dir, 'htpasswd')}\n`
  }
  const config = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${host}`,
    '',
  ].join('\n') + auth
  await writeFile(join(dir, 'config.yml'), config)
  const child = spawn(REGISTRY_BIN, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (c: string) => { stderr = (stderr + c).slice(-4000) })
  const url = `http://${host}`
  try {
    await waitUntilServing(`${url}/v2/`, child, () => stderr)
  } catch (err) {
    child.kill('SIGKILL')
    await rm(dir, { recursive: true, force: true })
    throw err
  }
  return {
    host,
    url,
    ...(opts.htpasswd !== undefined ? { user: opts.htpasswd } : {}),
    storageDir: join(dir, 'data'),
    stop: async () => {
      await stopChild(child)
      await rm(dir, { recursive: true, force: true })
    },
  }
}

async function waitUntilServing (url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}: ${log()}`)
    try {
      const res = await fetch(url)
      await res.body?.cancel()
      if (res.status === 200 || res.status === 401) return
    } catch { /* not listening yet */ }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`docker-registry did not answer ${url} within 20s: ${log()}`)
}

async function stopChild (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

/** A request as the test proxy saw it (body buffered). */
export interface SeenRequest {
  method: string
  url: string
  headers: IncomingHttpHeaders
  body: Buffer
}

/** The upstream answer, fully buffered so a handler can cut or corrupt it. */
export interface UpstreamResponse {
  status: number
  headers: OutgoingHttpHeaders
  body: Buffer
}

/** Decide per request: answer yourself, or `forward()` and write (a changed copy of) the answer. */
export type ProxyHandler = (req: SeenRequest, res: ServerResponse, forward: () => Promise<UpstreamResponse>) => Promise<void>

export interface TestProxy {
  host: string
  /** Every request received, in order. */
  seen: SeenRequest[]
  close (): Promise<void>
}

export function writeUpstream (res: ServerResponse, up: UpstreamResponse): void {
  res.writeHead(up.status, up.headers)
  res.end(up.body)
}

/**
 * An HTTP proxy in front of a registry, for fault injection (503s, resets,
 * truncated or corrupted bodies) and fake auth. The Host header is passed
 * through, so upload Locations the registry returns point back at the proxy.
 */
export async function startProxy (upstreamHost: string, handler: ProxyHandler = async (_req, res, forward) => writeUpstream(res, await forward())): Promise<TestProxy> {
  const seen: SeenRequest[] = []
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const seenReq: SeenRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks) }
      seen.push(seenReq)
      const forward = (): Promise<UpstreamResponse> => new Promise((resolve, reject) => {
        const [hostname, port] = upstreamHost.split(':') as [string, string]
        const headers = { ...req.headers }
        delete headers.connection
        const up = httpRequest({ hostname, port: Number(port), method: seenReq.method, path: seenReq.url, headers }, (upRes) => {
          const body: Buffer[] = []
          upRes.on('data', (c: Buffer) => body.push(c))
          upRes.on('end', () => {
            const h: OutgoingHttpHeaders = { ...upRes.headers }
            delete h['transfer-encoding']
            delete h.connection
            const buf = Buffer.concat(body)
            if (seenReq.method !== 'HEAD') h['content-length'] = String(buf.length)
            resolve({ status: upRes.statusCode ?? 502, headers: h, body: buf })
          })
          upRes.on('error', reject)
        })
        up.on('error', reject)
        up.end(seenReq.body)
      })
      handler(seenReq, res, forward).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(502)
        res.end(String(err))
      })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return {
    host: `127.0.0.1:${port}`,
    seen,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }),
  }
}

/** Content an image test needs: a store to read from and a way to put blobs in it. */
export interface BlobWriter {
  writeBytes (data: Uint8Array | string): Promise<{ digest: string; size: number }>
}

export interface TestImage {
  manifest: { mediaType: string; digest: string; size: number; platform: { os: string; architecture: string; variant?: string } }
  layerDigests: string[]
  configDigest: string
}

/**
 * A small image made in the test: one gzip tar layer holding `files`, a
 * config for `platform`, an OCI manifest — all written to `store`.
 */
export async function writeTestImage (store: BlobWriter, opts: { platform: string; files: Record<string, string | Buffer> }): Promise<TestImage> {
  const [os, architecture, variant] = opts.platform.split('/') as [string, string, string?]
  const tar = await makeTar(opts.files)
  const layer = gzipSync(tar, { level: 6 })
  const layerInfo = await store.writeBytes(layer)
  const config = {
    architecture, os, ...(variant !== undefined ? { variant } : {}),
    config: { Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: [`sha256:${createHash('sha256').update(tar).digest('hex')}`] },
  }
  const configInfo = await store.writeBytes(JSON.stringify(config))
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configInfo.digest, size: configInfo.size },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerInfo.digest, size: layerInfo.size }],
  }
  const m = await store.writeBytes(JSON.stringify(manifest))
  return {
    manifest: { mediaType: manifest.mediaType, digest: m.digest, size: m.size, platform: { os, architecture, ...(variant !== undefined ? { variant } : {}) } },
    layerDigests: [layerInfo.digest],
    configDigest: configInfo.digest,
  }
}

/** An OCI index over `manifests`, written to `store`. */
export async function writeTestIndex (store: BlobWriter, manifests: TestImage['manifest'][]): Promise<{ mediaType: string; digest: string; size: number }> {
  const index = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }
  const info = await store.writeBytes(JSON.stringify(index))
  return { mediaType: index.mediaType, digest: info.digest, size: info.size }
}

async function makeTar (files: Record<string, string | Buffer>): Promise<Buffer> {
  const pack = tarStream.pack()
  const chunks: Buffer[] = []
  pack.on('data', (c: unknown) => { chunks.push(c as Buffer) })
  const done = new Promise<void>((resolve, reject) => { pack.on('end', resolve); pack.on('error', reject) })
  for (const [name, content] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) {
    await new Promise<void>((resolve, reject) => {
      pack.entry({ name, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 }, content, (err) => (err ? reject(err) : resolve()))
    })
  }
  pack.finalize()
  await done
  return Buffer.concat(chunks)
}

/** Make a store directory readable as an OCI layout, with `refs` tagged in index.json. */
export async function writeOciLayout (root: string, refs: Record<string, { mediaType: string; digest: string; size: number }>): Promise<void> {
  await writeFile(join(root, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }))
  const manifests = Object.entries(refs).map(([name, d]) => ({ ...d, annotations: { 'org.opencontainers.image.ref.name': name } }))
  await writeFile(join(root, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests }))
}

/** Run skopeo with TLS verification off (loopback registries are plain http). */
export async function skopeo (...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)('skopeo', args, { maxBuffer: 64 * 1024 * 1024 })
  return stdout
}
