// A step printing far more than memory to a reader slower than it: the real
// CLI in a child process, its stderr read only after a pause. Memory stays
// bounded because the step's output pauses (the process in the container
// blocks on write), and every byte still arrives, live and in the history.
import { spawn, type ChildProcess } from 'node:child_process'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { BIN, ensureBuilt, freshDir } from '../helpers/tsbuild.js'

const isRoot = process.getuid?.() === 0
const LINES = 2_000_000
const WIDTH = 100 // 200 MB of output, as 2,000,000 lines of 100 `a`s (the last without its newline)
const PEAK_LIMIT_KB = 250 * 1024

let work: string
let busybox: string

beforeAll(async () => {
  work = await freshDir('tsbuild-volume-')
  busybox = inject('busybox')
  await ensureBuilt()
})
afterAll(async () => { await rm(work, { recursive: true, force: true }) })

/** The highest VmHWM (peak resident set) seen while the process runs, polled. */
function watchPeak (child: ChildProcess): () => number {
  let peakKb = 0
  const timer = setInterval(() => {
    readFile(`/proc/${child.pid}/status`, 'utf8').then((s) => {
      const m = /^VmHWM:\s+(\d+) kB/m.exec(s)
      if (m !== null) peakKb = Math.max(peakKb, Number(m[1]))
    }, () => {})
  }, 50)
  child.on('exit', () => { clearInterval(timer) })
  return () => peakKb
}

/** Counts the lines of a stream that `match` accepts (streamed: the output is bigger than the test should hold). */
async function countLines (stream: Readable, match: (line: string) => boolean): Promise<{ lines: number; other: string[] }> {
  let partial = ''
  let lines = 0
  const other: string[] = []
  const take = (line: string): void => {
    if (match(line)) lines++
    else if (other.length < 200) other.push(line)
  }
  for await (const chunk of stream.setEncoding('latin1') as AsyncIterable<string>) {
    const parts = (partial + chunk).split('\n')
    partial = parts.pop()!
    for (const p of parts) take(p)
  }
  if (partial !== '') take(partial)
  return { lines, other }
}

function exited (child: ChildProcess): Promise<number | null> {
  return new Promise((resolve, reject) => { child.on('error', reject).on('close', (code) => { resolve(code) }) })
}

describe.skipIf(!isRoot)('output volume (RUN needs root for runc)', () => {
  test('200 MB of step output to a slow reader: bounded memory, every line in plain progress and in history logs', async () => {
    const root = await freshDir('root-', work)
    const ctx = await freshDir('ctx-', work)
    await writeFile(join(ctx, 'Dockerfile'), `FROM ${busybox}\nRUN head -c ${LINES * WIDTH} /dev/zero | tr '\\0' a | fold -w ${WIDTH}\n`)
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, TSBUILD_ROOT: root }

    const build = spawn(process.execPath, [BIN, 'build', '--progress=plain', '--no-cache', '.'], { cwd: ctx, env, stdio: ['ignore', 'ignore', 'pipe'] })
    const buildPeak = watchPeak(build)
    // The reader is away for a while: tsbuild's stderr pipe fills at once.
    build.stderr!.pause()
    await new Promise((resolve) => setTimeout(resolve, 4000))
    const outputLine = /^#(\d+) \d+\.\d{3} a{100}$/
    const [plain, code] = await Promise.all([countLines(build.stderr!, (l) => outputLine.test(l)), exited(build)])
    expect(code, plain.other.join('\n')).toBe(0)
    expect(plain.lines).toBe(LINES)
    expect(buildPeak()).toBeGreaterThan(0)
    expect(buildPeak(), 'peak RSS of tsbuild build (kB)').toBeLessThan(PEAK_LIMIT_KB)

    const step = /^#(\d+) \[2\/2\] RUN head/m.exec(plain.other.join('\n'))
    expect(step).not.toBeNull()
    const logs = spawn(process.execPath, [BIN, 'history', 'logs', '^1', step![1]!], { cwd: ctx, env, stdio: ['ignore', 'pipe', 'pipe'] })
    const logsPeak = watchPeak(logs)
    logs.stdout!.pause()
    await new Promise((resolve) => setTimeout(resolve, 1000))
    const [logged, logsCode] = await Promise.all([countLines(logs.stdout!, (l) => l === 'a'.repeat(WIDTH)), exited(logs)])
    expect(logsCode).toBe(0)
    expect(logged.lines).toBe(LINES)
    expect(logged.other).toEqual([])
    expect(logsPeak(), 'peak RSS of tsbuild history logs (kB)').toBeLessThan(PEAK_LIMIT_KB)
  })

  test('Ctrl-C ends a build and a history logs whose reader is not reading, promptly and cleanly', async () => {
    const root = await freshDir('root-', work)
    const ctx = await freshDir('ctx-', work)
    await writeFile(join(ctx, 'Dockerfile'), `FROM ${busybox}\nRUN echo begin && yes 0123456789abcdefghijklmnopqrstuvwxyz\n`)
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, TSBUILD_ROOT: root }
    const interruptUnread = async (args: string[]): Promise<{ code: number | null; ms: number }> => {
      const child = spawn(process.execPath, [BIN, ...args], { cwd: ctx, env, stdio: ['ignore', 'pipe', 'pipe'] })
      // Neither pipe is read until the child has gone: it fills at once and stays full.
      child.stdout!.pause()
      child.stderr!.pause()
      const done = exited(child)
      await new Promise((resolve) => setTimeout(resolve, 5000))
      const t0 = Date.now()
      child.kill('SIGINT')
      const code = await done
      return { code, ms: Date.now() - t0 }
    }
    const build = await interruptUnread(['build', '--progress=plain', '.'])
    expect(build.code).toBe(130)
    expect(build.ms).toBeLessThan(5000)
    // The cancelled step's container is gone: the next build on the state dir starts clean.
    const mounts = await readFile('/proc/self/mounts', 'utf8')
    expect(mounts).not.toContain(root)

    await writeFile(join(ctx, 'Dockerfile'), `FROM ${busybox}\nRUN head -c 100000000 /dev/zero | tr '\\0' a | fold -w 100\n`)
    const big = spawn(process.execPath, [BIN, 'build', '--progress=quiet', '.'], { cwd: ctx, env, stdio: 'ignore' })
    expect(await exited(big)).toBe(0)
    const logs = await interruptUnread(['history', 'logs', '^1', '2'])
    expect(logs.code).toBe(130)
    expect(logs.ms).toBeLessThan(3000)
  })
})
