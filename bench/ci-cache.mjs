// CI cache scenario. Run after `npm run build`: node bench/ci-cache.mjs [--files 3000]
// A two-stage app with npm-ci-like work (many files written through a cache
// mount into a layer) is built cold with --cache-to type=registry,mode=max,
// then rebuilt on an empty state dir with --cache-from. A counting proxy in
// front of a loopback docker-registry measures the bytes each build moves.
// Bar: the rebuild takes < 15% of the cold build and downloads no layer that
// no step reads (an unchanged project reads none but the exported image's).
import { execFileSync, spawn } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { createServer, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'

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
    req.on('data', (c) => { if (req.method === 'PATCH' || req.method === 'PUT') counts.up += c.length })
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

function build (root, extra, ctx) {
  const t0 = performance.now()
  execFileSync(process.execPath, [BIN, 'build', '--progress=plain', '--build-arg', 'SOURCE_DATE_EPOCH=1700000000', '-t', 'app:ci', ...extra, ctx],
    { env: { PATH: process.env.PATH, HOME: process.env.HOME, TSBUILD_ROOT: root }, stdio: ['ignore', 'pipe', 'inherit'] })
  return performance.now() - t0
}

const registry = await startRegistry()
const proxy = await startProxy(registry.port)
try {
  const ctx = join(work, 'ctx')
  writeProject(ctx)
  const ref = `type=registry,ref=127.0.0.1:${proxy.port}/app-cache:ci`
  const cold = build(mkdtempSync(join(work, 'root-')), ['--cache-to', `${ref},mode=max`], ctx)
  const uploaded = proxy.counts.up
  proxy.counts.down = 0; proxy.counts.layersDown.clear()
  const warm = build(mkdtempSync(join(work, 'root-')), ['--cache-from', ref], ctx)
  const ratio = warm / cold
  console.log(JSON.stringify({
    coldMs: Math.round(cold), cacheRebuildMs: Math.round(warm), ratio: Number(ratio.toFixed(3)),
    coldUploadedBytes: uploaded, rebuildDownloadedBytes: proxy.counts.down, rebuildBlobsDownloaded: proxy.counts.layersDown.size,
    bar: ratio < 0.15 ? 'pass' : 'FAIL (rebuild must take < 15% of the cold build)',
  }, null, 2))
} finally {
  proxy.server.close()
  registry.child.kill()
  execFileSync('rm', ['-rf', work])
}
