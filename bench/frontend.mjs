// Dockerfile frontend benchmark: parse + convert of a generated 5,000-instruction
// multi-stage Dockerfile for one and for two target platforms, with an in-memory
// image resolver. Reports the cold first run (the median over fresh processes,
// each converting once right after Node start, module loading not counted)
// and the median of several runs in one process after warm-up. The bar is
// < 100 ms. For scale it also times, cold, a floor: a loop that does the
// least any conversion must (split the lines, build one op object per
// instruction, serialise and sha256 it), with none of the Dockerfile rules.
// Needs `npm run build` first.
//   node bench/frontend.mjs [--runs 9] [--cold-runs 5] [--instructions 5000]
import { execFileSync } from 'node:child_process'
import { createHash, hash } from 'node:crypto'
import { fileURLToPath } from 'node:url'

const args = process.argv.slice(2)
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt }
const runs = Number(opt('--runs', '9'))
const coldRuns = Number(opt('--cold-runs', '5'))
const total = Number(opt('--instructions', '5000'))
const isColdChild = args.includes('--cold-child')
const isFloorChild = args.includes('--floor-child')

const { convertDockerfile, parseDockerfile } = await import('../dist/frontend/index.js')

function generate (instructions) {
  const stages = 10
  const per = Math.floor(instructions / stages)
  const lines = ['# syntax=docker/dockerfile:1', 'ARG BASE=alpine:3.20', 'ARG VERSION=1.0']
  for (let s = 0; s < stages; s++) {
    lines.push(s === 0 ? 'FROM --platform=$BUILDPLATFORM $BASE AS stage0' : `FROM ${s % 3 === 0 ? 'stage0' : '$BASE'} AS stage${s}`)
    lines.push('ARG VERSION')
    for (let i = 0; i < per - 2; i++) {
      switch (i % 8) {
        case 0: lines.push(`ENV VAR_${i}=value-${i} PATH_${i}=/opt/${i}/bin:$PATH`); break
        case 1: lines.push(`RUN --mount=type=cache,target=/root/.cache/${i} echo "step ${i} $VERSION" && make -j4 target-${i}`); break
        case 2: lines.push(`COPY --chown=1000:1000 src/${i}/ /app/${i}/`); break
        case 3: lines.push(`WORKDIR /app/${i}`); break
        case 4: lines.push(`LABEL org.example.step${i}="${i}" version=$VERSION`); break
        case 5: lines.push(s > 0 ? `COPY --from=stage${s - 1} /app/${i} /from/${i}` : `ADD https://example.com/f${i}.tar.gz /dl/`); break
        case 6: lines.push(`RUN <<EOF\nset -e\necho ${i}\nEOF`); break
        default: lines.push(`EXPOSE ${8000 + i}/tcp`)
      }
    }
  }
  return lines.join('\n') + '\n'
}

const resolver = {
  async resolveImageConfig (ref, { platform }) {
    const digest = `sha256:${createHash('sha256').update(ref + platform.architecture).digest('hex')}`
    return {
      ref: `docker.io/library/${ref.replace(/^docker\.io\/library\//, '')}`,
      digest,
      config: { architecture: platform.architecture, os: platform.os, config: { Env: ['PATH=/usr/bin:/bin'] }, rootfs: { type: 'layers', diff_ids: [digest] }, history: [{ created_by: 'base' }] },
    }
  },
}

const text = generate(total)
const request = (platforms) => ({
  dockerfile: text,
  file: 'Dockerfile',
  targetPlatforms: platforms.map(p => ({ os: 'linux', architecture: p })),
  buildPlatform: { os: 'linux', architecture: 'amd64' },
  buildArgs: new Map([['VERSION', '2.0']]),
  labels: new Map(),
  dockerignorePatterns: ['node_modules', '.git'],
  namedContexts: new Map(),
  noCacheFilter: [],
  imageResolver: resolver,
})

async function once (platforms) {
  const t0 = performance.now()
  const res = await convertDockerfile(request(platforms))
  return { ms: performance.now() - t0, ops: res.platforms.reduce((n, p) => n + p.definition.ops.size, 0) }
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] }
const fmt = (ms) => `${ms.toFixed(1)} ms`

/**
 * The floor: per instruction line, a keyword, its words, one op object
 * chained to the previous op's digest, its JSON and its sha256; ENV lines
 * extend an env list whose digest the ops carry. No parser rules, expansion,
 * image config, metadata or source ranges.
 */
function floor () {
  const t0 = performance.now()
  const lines = text.split('\n')
  const ops = new Map()
  let prev = 'sha256:'
  let env = []
  let envDigest = ''
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    const sp = line.indexOf(' ')
    if (sp < 0) continue
    const keyword = line.slice(0, sp).toLowerCase()
    const words = line.slice(sp + 1).split(' ')
    if (keyword === 'env') {
      env = env.concat(words)
      envDigest = hash('sha256', JSON.stringify(env), 'hex')
    }
    const op = { inputs: [{ digest: prev, index: 0 }], kind: keyword, meta: { args: words, env: envDigest }, platform: { architecture: 'amd64', os: 'linux' } }
    const json = JSON.stringify(op)
    prev = `sha256:${hash('sha256', json, 'hex')}`
    ops.set(prev, { json, line: i + 1 })
  }
  return { ms: performance.now() - t0, ops: ops.size }
}

if (isFloorChild) {
  console.log(JSON.stringify(floor()))
  process.exit(0)
}
if (isColdChild) {
  console.log(JSON.stringify(await once(['amd64'])))
  process.exit(0)
}
const coldSamples = []
let cold
for (let i = 0; i < coldRuns; i++) {
  cold = JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--cold-child', '--instructions', String(total)], { encoding: 'utf8' }))
  coldSamples.push(cold.ms)
}
cold.ms = median(coldSamples)
const floorSamples = []
for (let i = 0; i < coldRuns; i++) {
  floorSamples.push(JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--floor-child', '--instructions', String(total)], { encoding: 'utf8' })).ms)
}
for (let i = 0; i < 4; i++) await once(['amd64'])
const parseTimes = []
for (let i = 0; i < runs; i++) { const t0 = performance.now(); parseDockerfile(text); parseTimes.push(performance.now() - t0) }
const one = []
for (let i = 0; i < runs; i++) one.push((await once(['amd64'])).ms)
const two = []
let ops = 0
for (let i = 0; i < runs; i++) { const r = await once(['amd64', 'arm64']); two.push(r.ms); ops = r.ops }

const instructionCount = text.split('\n').filter(l => /^[A-Z]+\s/.test(l)).length
console.log(`frontend bench: ${instructionCount} instructions, ${text.length} bytes, ${runs} runs after warm-up`)
console.log(`  cold first run (parse + convert, 1 platform): ${fmt(cold.ms)}   (median of ${coldRuns} fresh processes: ${coldSamples.map(x => x.toFixed(0)).join(', ')} ms)`)
console.log(`  floor, cold (split, one op + JSON + sha256 per line): ${fmt(median(floorSamples))}   (${floorSamples.map(x => x.toFixed(0)).join(', ')} ms)`)
console.log(`  parse only, median:                           ${fmt(median(parseTimes))}`)
console.log(`  parse + convert, 1 platform, median:          ${fmt(median(one))}   (${cold.ops} ops)`)
console.log(`  parse + convert, 2 platforms, median:         ${fmt(median(two))}   (${ops} ops in both)`)
console.log(`  bar: < 100 ms  → cold ${cold.ms < 100 ? 'ok' : 'SLOW'}, warm ${median(one) < 100 ? 'ok' : 'SLOW'}`)
console.log(`BENCH_RESULT ${JSON.stringify({ instructions: instructionCount, coldMs: cold.ms, floorColdMs: median(floorSamples), parseMedianMs: median(parseTimes), medianMs: median(one), twoPlatformMedianMs: median(two) })}`)
