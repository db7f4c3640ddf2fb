// Build-context scan benchmark: cold and no-op scans of a 2,000-file and a
// 30,000-file context, medians of 5 runs, each run in its own process so the
// reported peak RSS belongs to that scan alone. Needs `npm run build` first.
//   node bench/context.mjs [--runs 5] [--sizes 2000,30000]
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const self = fileURLToPath(import.meta.url)
const args = process.argv.slice(2)

if (args[0] === '--child') {
  const [, ctx, stateDir] = args
  const { scanContext, checksum } = await import('../dist/solver/index.js')
  const t0 = process.hrtime.bigint()
  const snap = await scanContext(ctx, { stateDir })
  await checksum(snap, '/')
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  process.stdout.write(JSON.stringify({ ms, maxRssKiB: process.resourceUsage().maxRSS, hashed: snap.stats.filesHashed, entries: snap.stats.entries }))
  process.exit(0)
}

const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt }
const runs = Number(opt('--runs', '5'))
const sizes = opt('--sizes', '2000,30000').split(',').map(Number)

function makeContext (files) {
  const root = mkdtempSync(path.join(tmpdir(), `tsbuild-bench-ctx-${files}-`))
  const perDir = 100
  for (let i = 0; i < files; i++) {
    const dir = path.join(root, `d${Math.floor(i / perDir) % 50}`, `s${Math.floor(i / (perDir * 50))}`)
    if (i % perDir === 0) mkdirSync(dir, { recursive: true })
    // Mostly small source-like files, every 500th a 1 MiB asset.
    writeFileSync(path.join(dir, `f${i}.txt`), i % 500 === 0 ? Buffer.alloc(1 << 20, i % 251) : `file ${i}\n`.repeat(1 + (i % 40)))
  }
  return root
}

const runChild = (ctx, stateDir) => JSON.parse(execFileSync(process.execPath, [self, '--child', ctx, stateDir], { encoding: 'utf8' }))
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] }

const contexts = sizes.map((n) => ({ n, root: makeContext(n) }))
// Files younger than the stat cache's racy window (2 s) are always re-hashed; let them age.
await new Promise((resolve) => setTimeout(resolve, 2100))

const rows = []
for (const { n, root } of contexts) {
  const cold = []
  for (let i = 0; i < runs; i++) cold.push(runChild(root, mkdtempSync(path.join(tmpdir(), 'tsbuild-bench-state-'))))
  const warmState = mkdtempSync(path.join(tmpdir(), 'tsbuild-bench-state-'))
  runChild(root, warmState)
  const noop = []
  for (let i = 0; i < runs; i++) noop.push(runChild(root, warmState))
  if (noop.some((r) => r.hashed !== 0)) throw new Error(`no-op scan of ${n} files re-hashed ${noop.map((r) => r.hashed)} files`)
  for (const [mode, rs] of [['cold', cold], ['no-op', noop]]) {
    rows.push({ files: n, scan: mode, 'median ms': median(rs.map((r) => r.ms)).toFixed(1), 'median peak RSS MiB': (median(rs.map((r) => r.maxRssKiB)) / 1024).toFixed(1), 'files hashed': rs[0].hashed })
  }
}
for (const { root } of contexts) rmSync(root, { recursive: true, force: true })
console.table(rows)
console.log('cold = empty stat cache (page cache warm); no-op = unchanged context with a warm stat cache')
console.log(`BENCH_RESULT ${JSON.stringify(rows)}`)
