// The Quick start's main job (scripts/quickstart-build.sh, everything after the
// apt/npm setup) in a fresh state dir: bootstrap busybox, build examples/hello
// for two platforms, run each image with podman; then again, fully cached.
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'

const run = promisify(execFile)
const REPO = resolve(import.meta.dirname, '../..')
const isRoot = process.getuid?.() === 0

async function quickstart (root: string): Promise<string> {
  // stderr folded into stdout: build progress goes to stderr, the images' output to stdout.
  const { stdout } = await run('bash', ['-c', 'bash scripts/quickstart-build.sh 2>&1'], {
    cwd: REPO, env: { ...process.env, TSBUILD_ROOT: root, PROGRESS: 'plain' }, maxBuffer: 64 << 20,
  })
  return stdout
}

/** Build steps (`[...]` names) whose vertex ran (a `DONE` line) rather than came from the cache; exporting is not a step. */
function stepsThatRan (log: string): string[] {
  const names = new Map<string, string>()
  const ran: string[] = []
  for (const line of log.split('\n')) {
    const m = /^#(\d+) (.*)$/.exec(line)
    if (m === null) continue
    const [, id, rest] = m as unknown as [string, string, string]
    if (rest.startsWith('[')) names.set(id, rest)
    else if (rest.startsWith('DONE') && names.has(id) && !names.get(id)!.startsWith('[internal]')) ran.push(names.get(id)!)
  }
  return ran
}

// Needs root: runc sandboxes for RUN and podman with private storage.
describe.runIf(isRoot)('quickstart build steps', () => {
  let work: string
  let root: string
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'tsbuild-quickstart-'))
    root = await mkdtemp(join(work, 'state-'))
    await run('npm', ['run', '--silent', 'build'], { cwd: REPO })
  })
  afterAll(async () => { await rm(work, { recursive: true, force: true }) })

  test('builds hello for amd64 and arm64 and each image runs on its own architecture', async () => {
    const out = await quickstart(root)
    expect(out).toContain('hello, tsbuild')
    expect(out).toContain('built for linux/amd64 on x86_64')
    expect(out).toContain('built for linux/arm64 on aarch64')
    expect(out).toContain('running now on x86_64')
    expect(out).toContain('running now on aarch64')
    expect(out).toMatch(/^hello:latest +\w+ +linux\/amd64,linux\/arm64 /m)
    // The --platform=$BUILDPLATFORM stage is one vertex shared by both target platforms.
    const ran = stepsThatRan(out)
    expect(ran.filter((s) => s.includes('RUN sed'))).toHaveLength(1)
    expect(ran.filter((s) => s.includes('RUN echo "built for'))).toHaveLength(2)
  })

  test('a second run is fully cached and still runs both platforms', async () => {
    const out = await quickstart(root)
    expect(stepsThatRan(out)).toEqual([])
    expect(out).toMatch(/CACHED/)
    expect(out).toContain('running now on aarch64')
  })
})
