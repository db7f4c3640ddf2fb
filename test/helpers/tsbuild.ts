// Run the real `tsbuild` CLI as a user does: `node bin/tsbuild.js` in a child
// process, against the compiled dist/. The dist is rebuilt when any source
// file is newer than the last build this helper made (one stamp file, so a
// run of many test files compiles at most once).
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdir, mkdtemp, readdir, stat, symlink, writeFile, chmod } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import type { SolveEvent, VertexEvent } from '../../src/solver/events.js'

const run = promisify(execFile)

export const REPO = resolve(import.meta.dirname, '../..')
export const BIN = join(REPO, 'bin/tsbuild.js')
const STAMP = join(REPO, 'dist/.tsbuild-test-stamp')

async function newestSource (dir: string): Promise<number> {
  let newest = 0
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) newest = Math.max(newest, await newestSource(p))
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) newest = Math.max(newest, (await stat(p)).mtimeMs)
  }
  return newest
}

/** Compile src/ into dist/ unless the last compile is newer than every source file. */
export async function ensureBuilt (): Promise<void> {
  const built = await stat(STAMP).then((s) => s.mtimeMs, () => 0)
  if (built > await newestSource(join(REPO, 'src'))) return
  const startedAt = new Date()
  // tsc emits even when a file has type errors; a broken emit shows up as failing tests.
  // The same two steps as `npm run build`: bin/tsbuild.js runs the bundle, so re-bundle too.
  await run('flock', ['/tmp/tsbuild-dist.lock', 'sh', '-c', 'npx tsc -p tsconfig.build.json; node scripts/bundle.mjs'], { cwd: REPO, maxBuffer: 16 << 20 }).catch(() => {})
  await writeFile(STAMP, '')
  const { utimes } = await import('node:fs/promises')
  await utimes(STAMP, startedAt, startedAt) // sources edited during the compile make the next call rebuild
}

export interface TsbuildRun { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

export interface TsbuildOptions {
  /** The state dir (TSBUILD_ROOT). */
  root: string
  cwd?: string
  env?: Record<string, string>
  input?: string | Buffer
  timeoutMs?: number
}

function childEnv (opts: TsbuildOptions): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, TSBUILD_ROOT: opts.root, ...opts.env }
}

/** Start tsbuild and return the process; stdout/stderr are collected into the returned promise. */
export function spawnTsbuild (args: readonly string[], opts: TsbuildOptions): { child: ChildProcess; done: Promise<TsbuildRun>; stderrSoFar: () => string } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? opts.root, env: childEnv(opts), stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (c: string) => { stdout += c })
  child.stderr!.setEncoding('utf8').on('data', (c: string) => { stderr += c })
  child.stdin!.end(opts.input ?? '')
  const timer = setTimeout(() => { child.kill('SIGKILL') }, opts.timeoutMs ?? 150_000)
  const done = new Promise<TsbuildRun>((resolveRun, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => { clearTimeout(timer); resolveRun({ code, signal, stdout, stderr }) })
  })
  return { child, done, stderrSoFar: () => stderr }
}

export async function runTsbuild (args: readonly string[], opts: TsbuildOptions): Promise<TsbuildRun> {
  return await spawnTsbuild(args, opts).done
}

/** `runTsbuild` that fails the test with the full output when the exit code is not 0. */
export async function buildOk (args: readonly string[], opts: TsbuildOptions): Promise<TsbuildRun> {
  const r = await runTsbuild(args, opts)
  if (r.code !== 0) throw new Error(`tsbuild ${args.join(' ')} exited ${r.code ?? r.signal}\n--- stderr ---\n${r.stderr}\n--- stdout ---\n${r.stdout}`)
  return r
}

/** The events of a `--progress=rawjson` run (log data decoded to text). */
export function parseEvents (stderr: string): SolveEvent[] {
  const events: SolveEvent[] = []
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue
    const e = JSON.parse(line) as SolveEvent & { data?: string }
    if (e.type === 'log') events.push({ ...e, data: Buffer.from(e.data as unknown as string, 'base64') })
    else events.push(e)
  }
  return events
}

export function vertexEvents (events: SolveEvent[]): VertexEvent[] {
  return events.filter((e): e is VertexEvent => e.type === 'vertex')
}

/** Names of the steps that ran (not cached), e.g. `[stage-0 2/3] COPY a /a`. */
export function ranSteps (events: SolveEvent[]): string[] {
  return vertexEvents(events).filter((e) => e.status === 'completed').map((e) => e.name)
}

export function cachedSteps (events: SolveEvent[]): string[] {
  return vertexEvents(events).filter((e) => e.status === 'cached').map((e) => e.name)
}

/** All log output of a run, as text. */
export function logText (events: SolveEvent[]): string {
  return events.map((e) => e.type === 'log' ? Buffer.from(e.data).toString('utf8') : '').join('')
}

export type ContextEntry = string | { content: string; mode?: number } | { symlink: string } | { dir: true }

/** Write a build context: path → file text, `{ symlink }` or `{ dir: true }`. */
export async function writeContext (dir: string, files: Record<string, ContextEntry>): Promise<string> {
  await mkdir(dir, { recursive: true })
  for (const [path, entry] of Object.entries(files)) {
    const full = join(dir, path)
    await mkdir(dirname(full), { recursive: true })
    if (typeof entry === 'string') await writeFile(full, entry)
    else if ('symlink' in entry) await symlink(entry.symlink, full)
    else if ('dir' in entry) await mkdir(full, { recursive: true })
    else {
      await writeFile(full, entry.content)
      if (entry.mode !== undefined) await chmod(full, entry.mode)
    }
  }
  return dir
}

/** A fresh directory under the OS temp dir (short paths keep overlay mount options small). */
export async function freshDir (prefix: string, parent: string = tmpdir()): Promise<string> {
  return await mkdtemp(join(parent, prefix))
}
