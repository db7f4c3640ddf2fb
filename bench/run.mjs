// `npm run bench`: every benchmark scenario, one child process each (their own
// output is shown as they run), then a summary table of the figures against
// tsbuild's bars. Needs root (RUN steps use runc), `npm run build` first
// (the npm script does it), gzip, zstd, /usr/bin/time and docker-registry.
//   node bench/run.mjs [--only frontend,context,export,pull,solver] [--quick]
import { spawn, spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

const { values: args } = parseArgs({ options: { only: { type: 'string' }, quick: { type: 'boolean', default: false } } })
const here = import.meta.dirname
const quick = args.quick

const SCENARIOS = {
  frontend: ['frontend.mjs', ['--runs', quick ? '5' : '9']],
  context: ['context.mjs', ['--runs', '5']],
  export: ['export.mjs', quick ? ['--mb', '100', '--rss-mb', '300', '--runs', '3'] : ['--runs', '5']],
  pull: ['pull.mjs', ['--runs', '5']],
  solver: ['solver.mjs', ['--runs', '5']],
  'ci-cache': ['ci-cache.mjs', ['--files', quick ? '1000' : '3000']],
}
const selected = args.only === undefined ? Object.keys(SCENARIOS) : args.only.split(',')
for (const name of selected) if (!(name in SCENARIOS)) throw new Error(`unknown scenario ${name}; known: ${Object.keys(SCENARIOS).join(', ')}`)

/** Run one script, echoing its output; resolve with its BENCH_RESULT, or the reason it has none. */
async function runScenario (name) {
  const [file, argv] = SCENARIOS[name]
  console.log(`\n=== ${name}: node bench/${file} ${argv.join(' ')}`)
  const child = spawn(process.execPath, [join(here, file), ...argv], { stdio: ['ignore', 'pipe', 'inherit'] })
  let result
  let buffered = ''
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    buffered += chunk
    let nl
    while ((nl = buffered.indexOf('\n')) !== -1) {
      const line = buffered.slice(0, nl)
      buffered = buffered.slice(nl + 1)
      if (line.startsWith('BENCH_RESULT ')) result = JSON.parse(line.slice('BENCH_RESULT '.length))
      else process.stdout.write(line + '\n')
    }
  })
  const code = await new Promise((resolve) => child.on('close', resolve))
  if (code !== 0 || result === undefined) return { error: `bench/${file} exited with ${code}` }
  return { result }
}

/**
 * How fast this machine is right now: the median wall time of `node -e 0`.
 * Shared VMs swing by tens of percent between minutes; the figures next to
 * this one are read against it.
 */
function nodeStartMs () {
  const times = []
  for (let i = 0; i < 11; i++) {
    const t0 = performance.now()
    spawnSync(process.execPath, ['-e', '0'])
    times.push(performance.now() - t0)
  }
  return times.sort((a, b) => a - b)[5]
}

const startBefore = nodeStartMs()
const outcomes = {}
for (const name of selected) outcomes[name] = await runScenario(name)
const startAfter = nodeStartMs()

// One row per figure: [scenario, measure, value, bar, pass?]; pass is undefined where there is no bar.
const rows = []
const row = (scenario, measure, value, bar = '', pass = undefined) => rows.push({ scenario, measure, value, bar, pass })
const ms = (s) => `${(s * 1000).toFixed(0)} ms`
const mib = (x) => `${x.toFixed(0)} MiB`

row('machine', '`node -e 0` (median of 11), before and after', `${startBefore.toFixed(0)} ms, ${startAfter.toFixed(0)} ms`)
for (const [name, o] of Object.entries(outcomes)) {
  if (o.error !== undefined) { row(name, 'run', o.error, '', false); continue }
  const r = o.result
  switch (name) {
    case 'frontend':
      row(name, `parse+convert ${r.instructions} instr, cold first run`, `${r.coldMs.toFixed(1)} ms`, '< 100 ms', r.coldMs < 100)
      row(name, 'floor, cold: split + one op, JSON, sha256 per line', `${r.floorColdMs.toFixed(1)} ms`)
      row(name, `parse+convert ${r.instructions} instr, median`, `${r.medianMs.toFixed(1)} ms`, '< 100 ms', r.medianMs < 100)
      row(name, 'parse+convert, 2 platforms, median', `${r.twoPlatformMedianMs.toFixed(1)} ms`)
      break
    case 'context':
      for (const c of r) row(name, `${c.files} files, ${c.scan} scan (median)`, `${c['median ms']} ms, RSS ${c['median peak RSS MiB']} MiB`)
      break
    case 'export':
      for (const k of ['gzip', 'zstd']) {
        if (r[k] === undefined) continue
        const pass = k === 'gzip' ? r[k].ratio >= 1.7 : undefined
        row(name, `${k}: tsbuild vs single-core ${k === 'gzip' ? 'gzip -6' : 'zstd -3'}`, `${r[k].tsbuildMBps} vs ${r[k].singleCoreMBps} MB/s = ${r[k].ratio}x`, k === 'gzip' ? '≥ 1.7x' : '', pass)
      }
      if (r.peakRssMB !== undefined) row(name, 'peak RSS exporting a large layer', `${r.peakRssMB} MB`, '< 300 MB', r.peakRssMB < 300)
      break
    case 'pull':
      row(name, `pull ${r.mb} MB from loopback registry (median)`, `${r.mbPerS.toFixed(0)} MB/s (${r.medianS.toFixed(2)} s), RSS ${mib(r.medianRssMiB)}`)
      break
    case 'solver':
      row(name, 'tsbuild --version (median, wall)', `${ms(r.version.medianS)}, RSS ${mib(r.version.medianRssMiB)}`)
      row(name, '(a) no-op rebuild, 2,000 files (median, wall)', `${ms(r.noopRebuild2000.medianS)}, RSS ${mib(r.noopRebuild2000.medianRssMiB)}`, '< 200 ms', r.noopRebuild2000.medianS < 0.2)
      row(name, '(b) 3 × RUN sleep 2 stages joined (median)', `${ms(r.parallelSleeps.medianS)}, RSS ${mib(r.parallelSleeps.medianRssMiB)}`, '< 2.6 s', r.parallelSleeps.medianS < 2.6)
      row(name, '(c) one-file edit: re-ran', `${r.oneFileEdit.reran.join(' | ')} (${ms(r.oneFileEdit.seconds)})`, 'only after the changed COPY', r.oneFileEdit.onlyAfterChange)
      row(name, '(d) 30,000 files, cold build (median)', `${ms(r.context30000.cold.medianS)}, RSS ${mib(r.context30000.cold.medianRssMiB)}`)
      row(name, '(d) 30,000 files, no-op build (median)', `${ms(r.context30000.noop.medianS)}, RSS ${mib(r.context30000.noop.medianRssMiB)}`)
      if (r.runcRunS !== undefined) row(name, '`runc run` of `true` alone (median): every RUN pays it', ms(r.runcRunS))
      row(name, '(e) RUN chain, 10 and 40 steps (median)', `${ms(r.runChain.steps10.medianS)}, ${ms(r.runChain.steps40.medianS)}`)
      // A step at the top of a 40-step stack should cost what one of the first 10 did: flat, not growing.
      row(name, '(e) each step added from 10 to 40', ms(r.runChain.perAddedStepS), `≤ 1.5 × the 10-step chain's ${ms(r.runChain.perStepShortS)}`, r.runChain.perAddedStepS <= 1.5 * r.runChain.perStepShortS)
      break
    case 'ci-cache':
      row(name, `cold build, ${r.files} files (uploaded)`, `${ms(r.coldMs / 1000)} (${(r.coldUploadedBytes / 1e6).toFixed(1)} MB up)`)
      row(name, 'rebuild on an empty state dir from the registry cache', `${ms(r.cacheRebuildMs / 1000)} = ${(r.ratio * 100).toFixed(1)}% of cold (${(r.rebuildDownloadedBytes / 1e6).toFixed(1)} MB down)`, '< 15% of cold', r.ratio < 0.15)
      row(name, 'layers downloaded that no step reads', String(r.unreadLayersDownloaded), 'none', r.unreadLayersDownloaded === 0)
      break
  }
}

const cells = rows.map((x) => [x.scenario, x.measure, x.value, x.bar, x.pass === undefined ? '' : x.pass ? 'PASS' : 'FAIL'])
const header = ['SCENARIO', 'MEASURE', 'VALUE', 'BAR', 'RESULT']
const widths = header.map((h, c) => Math.max(h.length, ...cells.map((r) => r[c].length)))
console.log('\n=== summary (wall times include Node start where the CLI is spawned)')
for (const r of [header, ...cells]) console.log(r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd())
const failed = rows.filter((x) => x.pass === false).length
console.log(`\n${rows.filter((x) => x.pass === true).length} bars passed, ${failed} failed`)
