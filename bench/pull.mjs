// Pull throughput from a loopback registry: starts Debian's docker-registry on a
// free port, pushes a ~100 MB one-layer image built by tsbuild (incompressible
// data, so the blob is ~100 MB too), then times `tsbuild pull` into a fresh
// state dir per run. Needs `npm run build` first.
//   node bench/pull.mjs [--runs 5] [--mb 100]
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { emitResult, freshDir, median, tsbuild } from './lib.mjs'

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '5' }, mb: { type: 'string', default: '100' } } })
const runs = Number(args.runs)
const mb = Number(args.mb)

const port = await new Promise((resolve) => {
  const srv = createServer().listen(0, '127.0.0.1', () => { const p = srv.address().port; srv.close(() => resolve(p)) })
})
const regDir = freshDir('registry')
writeFileSync(join(regDir, 'config.yml'), [
  'version: 0.1', 'log:', '  level: error', '  accesslog:', '    disabled: true',
  'storage:', '  filesystem:', `    rootdirectory: ${join(regDir, 'data')}`, 'http:', `  addr: 127.0.0.1:${port}`, '',
].join('\n'))
const registry = spawn('/usr/bin/docker-registry', ['serve', join(regDir, 'config.yml')], { stdio: 'ignore' })
try {
  const deadline = Date.now() + 20_000
  for (;;) {
    try { if ((await fetch(`http://127.0.0.1:${port}/v2/`)).ok) break } catch { /* not yet listening */ }
    if (Date.now() > deadline) throw new Error('docker-registry did not start within 20 s')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }

  const ctx = freshDir('pullctx')
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY blob.bin /blob.bin\n')
  writeFileSync(join(ctx, 'blob.bin'), randomBytes(mb * 1e6))
  const ref = `127.0.0.1:${port}/bench/pull:${mb}mb`
  const root = freshDir('pushstate')
  tsbuild(['build', '--progress', 'quiet', '-t', ref, ctx], { root })
  tsbuild(['push', '-q', ref], { root })

  const rs = Array.from({ length: runs }, () => tsbuild(['pull', '-q', ref], { root: freshDir('pullstate') }))
  const seconds = median(rs.map((r) => r.seconds))
  const result = { mb, runs, medianS: seconds, mbPerS: mb / seconds, medianRssMiB: median(rs.map((r) => r.rssMiB)) }
  console.log(`pull of a ${mb} MB image from a loopback registry: median ${seconds.toFixed(2)} s = ${result.mbPerS.toFixed(0)} MB/s over ${runs} runs (Node start included), peak RSS ${result.medianRssMiB.toFixed(0)} MiB`)
  emitResult(result)
} finally {
  registry.kill('SIGTERM')
}
