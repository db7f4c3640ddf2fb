// Layer export throughput and memory. Run after `npm run build`:
//   node bench/export.mjs [--mb 300] [--rss-mb 1024] [--runs 3]
// Reports medians: tsbuild's gzip and zstd OCI-tarball export rates against
// single-threaded `gzip -6` and `zstd -3` of the same layer tar, and the peak
// RSS of a child process exporting a larger layer.
import { execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { parseArgs } from 'node:util'
import { LocalContentStore } from '../dist/cache/content/index.js'
import { createExportPool, createExporter, layerTarStream, parseOutputSpec } from '../dist/exporter/index.js'

const { values: args } = parseArgs({
  options: {
    mb: { type: 'string', default: '300' },
    'rss-mb': { type: 'string', default: '1024' },
    runs: { type: 'string', default: '3' },
    'child-export': { type: 'string' },
  },
})

const FILE_SIZE = 1 << 20

/** Text-like data from a small vocabulary: compresses about 3x, unlike random bytes or zeros. */
function makeVocabulary () {
  const words = Array.from({ length: 4096 }, () => randomBytes(2 + (Math.random() * 8 | 0)).toString('base64url').toLowerCase())
  return Buffer.from(Array.from({ length: 1 << 20 }, () => words[Math.random() * words.length | 0]).join(' '))
}

async function makeLayer (mb) {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-bench-layer-'))
  const vocab = makeVocabulary()
  for (let i = 0; i < mb; i++) {
    const sub = join(dir, `d${i % 32}`)
    if (i < 32) await mkdir(sub)
    const off = Math.random() * (vocab.length - FILE_SIZE) | 0
    await writeFile(join(sub, `f${i}`), vocab.subarray(off, off + FILE_SIZE))
  }
  return dir
}

const image = (dir) => ({
  config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } },
  layers: [{ kind: 'dir', dir }],
})

async function exportOnce (dir, compression, pool) {
  const work = await mkdtemp(join(tmpdir(), 'tsbuild-bench-out-'))
  const store = new LocalContentStore(join(work, 'store'))
  const dest = join(work, 'out.tar')
  const start = process.hrtime.bigint()
  await createExporter(parseOutputSpec(`type=oci,dest=${dest},compression=${compression}`)).export([image(dir)], { store, pool })
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  await rm(work, { recursive: true, force: true })
  return seconds
}

function timeCommand (cmd, argv, input) {
  const start = process.hrtime.bigint()
  execFileSync('sh', ['-c', `${cmd} ${argv.join(' ')} < "$1" > /dev/null`, 'sh', input])
  return Number(process.hrtime.bigint() - start) / 1e9
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]

if (args['child-export'] !== undefined) {
  // Child mode: one gzip export, then report this process's peak RSS (worker threads included).
  const pool = await createExportPool()
  await exportOnce(args['child-export'], 'gzip', pool)
  await pool.destroy()
  console.log(JSON.stringify({ maxRssMB: process.resourceUsage().maxRSS / 1024 }))
  process.exit(0)
}

const mb = Number(args.mb)
const runs = Number(args.runs)
console.log(`cores: ${availableParallelism()}, layer: ${mb} MB in ${mb} files, runs: ${runs}`)
const dir = await makeLayer(mb)
const tarPath = join(await mkdtemp(join(tmpdir(), 'tsbuild-bench-tar-')), 'layer.tar')
await pipeline(Readable.from(layerTarStream(dir)), createWriteStream(tarPath))
const tarMB = (await stat(tarPath)).size / 1e6

const pool = await createExportPool()
const results = {}
for (const [compression, cmd, argv] of [['gzip', 'gzip', ['-6', '-c']], ['zstd', 'zstd', ['-3', '-c', '-q', '-T1']]]) {
  await exportOnce(dir, compression, pool) // warm-up: page cache, worker start
  const ours = []
  const theirs = []
  for (let i = 0; i < runs; i++) {
    ours.push(await exportOnce(dir, compression, pool))
    theirs.push(timeCommand(cmd, argv, tarPath))
  }
  const oursRate = tarMB / median(ours)
  const theirRate = tarMB / median(theirs)
  results[compression] = { tsbuildMBps: +oursRate.toFixed(1), singleCoreMBps: +theirRate.toFixed(1), ratio: +(oursRate / theirRate).toFixed(2) }
  console.log(`${compression}: tsbuild ${oursRate.toFixed(1)} MB/s, ${cmd} ${argv[0]} single-core ${theirRate.toFixed(1)} MB/s, ratio ${(oursRate / theirRate).toFixed(2)}x`)
}
await pool.destroy()
await rm(dir, { recursive: true, force: true })
await rm(tarPath, { force: true })

const rssMB = Number(args['rss-mb'])
if (rssMB > 0) {
  const big = await makeLayer(rssMB)
  const child = spawn(process.execPath, [new URL(import.meta.url).pathname, '--child-export', big], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (d) => { out += d })
  const code = await new Promise((resolve) => child.on('close', resolve))
  if (code !== 0) throw new Error(`child export failed with ${code}`)
  results.peakRssMB = Math.round(JSON.parse(out).maxRssMB)
  console.log(`peak RSS exporting a ${rssMB} MB layer (gzip): ${results.peakRssMB} MB`)
  await rm(big, { recursive: true, force: true })
}
console.log(`BENCH_RESULT ${JSON.stringify(results)}`)
