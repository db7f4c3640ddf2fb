// Shared pieces of the benchmark scripts: spawning the real CLI under
// /usr/bin/time (wall time including Node start, peak RSS), fresh temp dirs,
// medians, and the one-line JSON result each script ends with.
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

export const REPO = resolve(import.meta.dirname, '..')
export const TSBUILD = join(REPO, 'bin', 'tsbuild.js')

export const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] }

/** A new directory every time: this disk is slow to reuse freed inodes, so nothing is deleted and recreated. */
export const freshDir = (prefix) => mkdtempSync(join(tmpdir(), `tsbuild-bench-${prefix}-`))

/**
 * Run `node bin/tsbuild.js ...args` once. Returns wall seconds (process start
 * to exit, Node start included), the peak RSS in MiB of the largest process in
 * the tree (GNU time's %M), and the combined output. Throws on a non-zero exit.
 */
export function tsbuild (args, { root, cwd = REPO, env = {} } = {}) {
  const timing = join(freshDir('time'), 'time.txt')
  const t0 = process.hrtime.bigint()
  const r = spawnSync('/usr/bin/time', ['-q', '-f', '%M', '-o', timing, process.execPath, TSBUILD, ...args], {
    cwd, env: { ...process.env, ...(root !== undefined ? { TSBUILD_ROOT: root } : {}), ...env }, encoding: 'utf8', maxBuffer: 256 << 20,
  })
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  const output = `${r.stdout}${r.stderr}`
  if (r.status !== 0) throw new Error(`tsbuild ${args.join(' ')} exited with ${r.status}:\n${output.slice(-3000)}`)
  const maxRssKiB = Number(readFileSync(timing, 'utf8').trim().split('\n').at(-1))
  return { seconds, rssMiB: maxRssKiB / 1024, output }
}

/** Steps whose vertex ran (a `DONE` line in plain progress) rather than came from the cache. */
export function stepsThatRan (log) {
  const names = new Map()
  const ran = []
  for (const line of log.split('\n')) {
    const m = /^#(\d+) (.*)$/.exec(line)
    if (m === null) continue
    if (m[2].startsWith('[')) names.set(m[1], m[2])
    else if (m[2].startsWith('DONE') && names.has(m[1]) && !names.get(m[1]).startsWith('[internal]')) ran.push(names.get(m[1]))
  }
  return ran
}

/** Make sure the local two-platform `busybox` base image is in state dir `root`. */
export function bootstrapBusybox (root) {
  execFileSync('bash', [join(REPO, 'scripts', 'bootstrap-busybox.sh')], { env: { ...process.env, TSBUILD_ROOT: root, PROGRESS: 'quiet' }, stdio: ['ignore', 'ignore', 'inherit'] })
}

/** The last line of a bench script's output: its figures for bench/run.mjs. */
export function emitResult (result) {
  process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`)
}
