// CI cache scenario. Run after `npm run build`: node bench/ci-cache.mjs [--files 3000]
// A two-stage app with npm-ci-like work (many files written through a cache
// mount into a layer) is built cold with --cache-to type=registry,mode=max,mounts=true,
// then rebuilt on an empty state dir with --cache-from. A counting proxy in
// front of a loopback docker-registry measures the bytes each build moves.
// Bars: the rebuild takes < 15% of the cold build and downloads no layer that
// no step reads (an unchanged project reads none but the exported image's).
// The builds run as child processes awaited asynchronously: the proxy lives in
// this process, so a synchronous spawn would stop it serving the build's uploads.
import { execFileSync, spawn } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { emitResult } from './lib.mjs'

const { values: args } = parseArgs({ options: { files: { type: 'string', default: '3000' } } })
const BIN = resolve(import.meta.dirname, '../bin/tsbuild.js')
const work = mkdtempSync(join(tmpdir(), 'tsb-ci-cache-'))

async function startRegistry () {
  const port = 20000 + Math.floor(Math.random() * 20000)
  const cfg = join(work, 'registry.yml')
  writeFileSync(cfg, `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(work, 'registry')}\nhttp:\n  addr: 127.0.0.1:${port}\n`)
  const child = spawn('docker-registry', ['serve', cfg], { stdio: 'ignore' })
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(`http://127.0.0.1:${port}/v2/`)).ok) return { port, child } } catch {}
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error('docker-registry did not start')
}

/** Forwards to the registry, counting blob bytes each way. */
function startProxy (upstreamPort) {
  const counts = { down: 0, up: 0, layersDown: new Set() }
  const server = createServer((req, res) => {
    const up = request({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers }, (ures) => {
      res.writeHead(ures.statusCode, ures.headers)
      const blob = req.method === 'GET' && /\/blobs\/sha256:/.test(req.url)
      ures.on('data', (c) => { if (blob) { counts.down += c.length; counts.layersDown.add(req.url.split('/blobs/')[1]) } })
      ures.pipe(res)
    })
    up.on('error', (err) => { if (!res.headersSent) res.writeHead(502); res.end(String(err)) })
    req.on('data', (c) => { if (req.method === 'PATCH' || req.method === 'PUT' || req.method === 'POST') counts.up += c.length })
    req.pipe(up)
  })
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r({ port: server.address().port, counts, server })))
}

function writeProject (dir) {
  mkdirSync(join(dir, 'src'), { recursive: true })
  copyFileSync('/bin/busybox', join(dir, 'busybox'))
  writeFileSync(join(dir, 'package.json'), '{"name":"app","dependencies":{"left-pad":"1.0.0"}}\n')
  for (let i = 0; i < 20; i++) writeFileSync(join(dir, 'src', `m${i}.js`), `export const v${i} = ${i}\n`)
  writeFileSync(join(dir, 'Dockerfile'), [
    'FROM scratch AS base',
    'COPY busybox /bin/busybox',
    'RUN ["/bin/busybox", "--install", "-s", "/bin"]',
    'FROM base AS deps',
    'COPY package.json /app/package.json',
    `RUN --mount=type=cache,target=/cache for i in $(seq 1 ${Number(args.files)}); do head -c 2048 /dev/urandom > /cache/m$i.js; done && mkdir -p /app/node_modules && cp -r /cache/. /app/node_modules/`,
    'FROM base',
    'COPY --from=deps /app/node_modules /app/node_modules',
    'COPY src /app/src',
    'RUN cat /app/src/*.js > /app/bundle.js',
  ].join('\n'))
}

async function build (root, extra, ctx) {
  const t0 = performance.now()
  const child = spawn(process.execPath, [BIN, 'build', '--progress=quiet', '--build-arg', 'SOURCE_DATE_EPOCH=1700000000', '-t', 'app:ci', ...extra, ctx],
    { env: { PATH: process.env.PATH, HOME: process.env.HOME, TSBUILD_ROOT: root }, stdio: ['ignore', 'ignore', 'inherit'] })
  const code = await new Promise((resolve, reject) => { child.on('error', reject); child.on('close', resolve) })
  if (code !== 0) throw new Error(`tsbuild build ${extra.join(' ')} exited with ${code}`)
  return performance.now() - t0
}

/** Blob digests of the image `app:ci` in state dir `root` (its config and layers). */
function imageBlobs (root) {
  const blob = (d) => JSON.parse(readFileSync(join(root, 'blobs', 'sha256', d.slice('sha256:'.length)), 'utf8'))
  const index = JSON.parse(readFileSync(join(root, 'index.json'), 'utf8'))
  const entry = index.manifests.find((m) => (m.annotations?.['org.opencontainers.image.ref.name'] ?? '').includes('app:ci'))
  if (entry === undefined) throw new Error('the rebuild stored no app:ci image')
  let manifest = blob(entry.digest)
  if (manifest.manifests !== undefined) manifest = blob(manifest.manifests[0].digest)
  return new Set([manifest.config.digest, ...manifest.layers.map((l) => l.digest)])
}

const registry = await startRegistry()
const proxy = await startProxy(registry.port)
try {
  const ctx = join(work, 'ctx')
  writeProject(ctx)
  const ref = `type=registry,ref=127.0.0.1:${proxy.port}/app-cache:ci`
  const cold = await build(mkdtempSync(join(work, 'root-')), ['--cache-to', `${ref},mode=max,mounts=true`], ctx)
  const cold_ = { up: proxy.counts.up, down: proxy.counts.down }
  proxy.counts.up = 0; proxy.counts.down = 0; proxy.counts.layersDown.clear()
  const cacheMountEntries = await cacheMountCount(registry.port)
  const warmRoot = mkdtempSync(join(work, 'root-'))
  const warm = await build(warmRoot, ['--cache-from', ref], ctx)
  const ratio = warm / cold
  // The rebuild runs nothing, so the only blobs it may read are the exported image's (and the cache config).
  const wanted = imageBlobs(warmRoot)
  const unread = [...proxy.counts.layersDown].filter((d) => !wanted.has(d))
  const cacheConfigs = unread.filter((d) => isCacheConfig(d))
  const unreadLayers = unread.filter((d) => !cacheConfigs.includes(d))
  const result = {
    files: Number(args.files),
    coldMs: Math.round(cold), cacheRebuildMs: Math.round(warm), ratio: Number(ratio.toFixed(3)),
    coldUploadedBytes: cold_.up, coldDownloadedBytes: cold_.down, cacheMountEntries,
    rebuildUploadedBytes: proxy.counts.up, rebuildDownloadedBytes: proxy.counts.down, rebuildBlobsDownloaded: proxy.counts.layersDown.size,
    unreadLayersDownloaded: unreadLayers.length,
    fastBar: ratio < 0.15 ? 'pass' : 'FAIL (rebuild must take < 15% of the cold build)',
    unreadLayerBar: unreadLayers.length === 0 ? 'pass' : `FAIL (downloaded layers no step reads: ${unreadLayers.join(', ')})`,
  }
  console.log(JSON.stringify(result, null, 2))
  emitResult(result)
} finally {
  proxy.server.close()
  registry.child.kill()
  execFileSync('rm', ['-rf', work])
}

/** Whether a blob the proxy saw is the cache's config (JSON metadata, not a layer). */
function isCacheConfig (digest) {
  const path = join(work, 'registry', 'docker', 'registry', 'v2', 'blobs', 'sha256', digest.slice(7, 9), digest.slice(7), 'data')
  try { return JSON.parse(readFileSync(path, 'utf8')).schemaVersion === 1 } catch { return false }
}

/** How many cache mounts the exported cache lists (mounts=true). */
async function cacheMountCount (port) {
  const base = `http://127.0.0.1:${port}/v2/app-cache`
  const manifest = await (await fetch(`${base}/manifests/ci`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).json()
  const config = await (await fetch(`${base}/blobs/${manifest.config.digest}`)).json()
  return config.mounts?.length ?? 0
}
