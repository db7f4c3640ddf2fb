// Solver benchmarks through the real CLI (`node bin/tsbuild.js`, Node start
// included), each build in its own state dir. Needs root (RUN uses runc) and
// `npm run build` first.
//   node bench/solver.mjs [--runs 5]
//   (a) no-op rebuild of a 2,000-file project          bar < 200 ms wall
//   (b) three independent `RUN sleep 2` stages joined  bar < 2.6 s wall
//   (c) one-file edit: which steps re-ran               only those after the changed COPY
//   (d) a 30,000-file context: cold and no-op builds
//   (e) chains of 10 and 40 RUN steps: the cost of each added step stays flat
//   plus `tsbuild --version` start time and, for scale, what `runc run` of
//   a container that runs `true` costs on this host (every RUN pays it).
import { execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { bootstrapBusybox, emitResult, freshDir, median, REPO, stepsThatRan, tsbuild } from './lib.mjs'

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '5' } } })
const runs = Number(args.runs)
const fmtMs = (s) => `${(s * 1000).toFixed(0)} ms`

function makeContext (files, dockerfile) {
  const dir = freshDir(`ctx${files}`)
  writeFileSync(join(dir, 'Dockerfile'), dockerfile)
  const perDir = 200
  for (let i = 0; i < files; i++) {
    const sub = join(dir, 'src', `d${Math.floor(i / perDir)}`)
    if (i % perDir === 0) mkdirSync(sub, { recursive: true })
    writeFileSync(join(sub, `f${i}.txt`), `file ${i}\n`.repeat(1 + (i % 20)))
  }
  return dir
}

// Files younger than the stat cache's racy window are re-hashed on purpose; let new contexts age first.
const settle = () => new Promise((resolve) => setTimeout(resolve, 2100))
const build = (root, ctx, extra = []) => tsbuild(['build', '--progress', 'plain', '-t', 'bench', ...extra, ctx], { root })
const summarize = (rs) => ({ medianS: median(rs.map((r) => r.seconds)), medianRssMiB: median(rs.map((r) => r.rssMiB)), runs: rs.length })
const result = {}

{
  const rs = Array.from({ length: 10 }, () => tsbuild(['--version']))
  result.version = summarize(rs)
  console.log(`tsbuild --version: median ${fmtMs(result.version.medianS)} over ${rs.length} runs, peak RSS ${result.version.medianRssMiB.toFixed(0)} MiB`)
}

const root = freshDir('state')
bootstrapBusybox(root)

{ // (a)
  const ctx = makeContext(2000, 'FROM busybox\nCOPY src/ /app/src/\nRUN find /app -type f | wc -l > /count\n')
  await settle()
  const cold = build(root, ctx)
  const noop = Array.from({ length: Math.max(runs, 10) }, () => build(root, ctx))
  const rerun = noop.flatMap((r) => stepsThatRan(r.output))
  if (rerun.length > 0) throw new Error(`(a) no-op rebuild re-ran steps: ${rerun.join(', ')}`)
  result.noopRebuild2000 = { ...summarize(noop), coldS: cold.seconds }
  console.log(`(a) 2,000-file project: cold ${fmtMs(cold.seconds)}; no-op rebuild median ${fmtMs(result.noopRebuild2000.medianS)} over ${noop.length} runs, peak RSS ${result.noopRebuild2000.medianRssMiB.toFixed(0)} MiB`)
}

{ // (b)
  const df = ['a', 'b', 'c'].map((s) => `FROM busybox AS ${s}\nRUN sleep 2 && echo ${s} > /${s}`).join('\n') +
    '\nFROM busybox\nCOPY --from=a /a /a\nCOPY --from=b /b /b\nCOPY --from=c /c /c\n'
  const ctx = freshDir('parallel')
  writeFileSync(join(ctx, 'Dockerfile'), df)
  const rs = Array.from({ length: Math.min(runs, 3) }, () => build(root, ctx, ['--no-cache']))
  result.parallelSleeps = summarize(rs)
  console.log(`(b) three parallel RUN sleep 2 stages: median ${fmtMs(result.parallelSleeps.medianS)} over ${rs.length} runs, peak RSS ${result.parallelSleeps.medianRssMiB.toFixed(0)} MiB`)
}

{ // (c)
  const df = 'FROM busybox\nCOPY src/ /app/src/\nRUN find /app/src -type f | wc -l > /count\nCOPY config.txt /app/\nRUN cat /app/config.txt > /config-copy\n'
  const ctx = makeContext(500, df)
  writeFileSync(join(ctx, 'config.txt'), 'version 1\n')
  await settle()
  build(root, ctx)
  writeFileSync(join(ctx, 'config.txt'), 'version 2\n')
  const edit = build(root, ctx)
  const ran = stepsThatRan(edit.output).map((s) => s.replace(/^\[[^\]]*\] /, ''))
  const expected = ['COPY config.txt /app/', 'RUN cat /app/config.txt > /config-copy']
  result.oneFileEdit = { seconds: edit.seconds, rssMiB: edit.rssMiB, reran: ran, onlyAfterChange: JSON.stringify(ran) === JSON.stringify(expected) }
  console.log(`(c) one-file edit rebuild: ${fmtMs(edit.seconds)}, re-ran: ${ran.join(' | ') || '(nothing)'}`)
}

{ // (d)
  const ctx = makeContext(30000, 'FROM scratch\nCOPY src/ /app/src/\n')
  await settle()
  const cold = Array.from({ length: Math.min(runs, 3) }, () => build(freshDir('state30k'), ctx))
  const warm = freshDir('state30k')
  build(warm, ctx)
  const noop = Array.from({ length: runs }, () => build(warm, ctx))
  result.context30000 = { cold: summarize(cold), noop: summarize(noop) }
  console.log(`(d) 30,000-file context: cold median ${fmtMs(result.context30000.cold.medianS)} (peak RSS ${result.context30000.cold.medianRssMiB.toFixed(0)} MiB); ` +
    `no-op median ${fmtMs(result.context30000.noop.medianS)} (peak RSS ${result.context30000.noop.medianRssMiB.toFixed(0)} MiB)`)
}

{ // (e) Each step mounts the whole stack below it; a step deeper in the chain must not cost more.
  const chain = (n) => {
    const ctx = freshDir(`chain${n}`)
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\n' + Array.from({ length: n }, (_, i) => `RUN echo ${i} > /f${i}\n`).join(''))
    return summarize(Array.from({ length: Math.min(runs, 3) }, () => build(root, ctx, ['--no-cache'])))
  }
  const short = chain(10)
  const long = chain(40)
  result.runChain = { steps10: short, steps40: long, perAddedStepS: (long.medianS - short.medianS) / 30, perStepShortS: short.medianS / 10 }
  console.log(`(e) RUN chains: 10 steps ${fmtMs(short.medianS)}, 40 steps ${fmtMs(long.medianS)}; each of the 30 added steps ${fmtMs(result.runChain.perAddedStepS)}`)
}

{ // runc alone: a bundle with busybox's rootfs and runc's default spec, running `true`
  const bundle = freshDir('runc')
  cpSync(join(REPO, '.cache', 'busybox-context', 'rootfs-amd64'), join(bundle, 'rootfs'), { recursive: true, verbatimSymlinks: true })
  execFileSync('runc', ['spec'], { cwd: bundle })
  const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'))
  spec.process.terminal = false
  spec.process.args = ['true']
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec))
  const times = Array.from({ length: 11 }, (_, i) => {
    const t0 = performance.now()
    execFileSync('runc', ['--root', join(bundle, 'state'), 'run', '--bundle', bundle, `bench-${process.pid}-${i}`], { stdio: 'ignore' })
    return (performance.now() - t0) / 1000
  })
  result.runcRunS = median(times)
  console.log(`runc run of \`true\` (the floor of every RUN step): median ${fmtMs(result.runcRunS)} over ${times.length} runs`)
}

emitResult(result)
