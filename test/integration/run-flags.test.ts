// `tsbuild build --add-host`, `--shm-size` and `--ulimit`: what every RUN of
// the build sees (its /etc/hosts, the size of /dev/shm, its resource limits),
// and how they key the cache: a changed limit re-runs the step, a changed
// host IP alone does not (as BuildKit blanks the IPs in the cache key).
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, inject, test } from 'vitest'
import { buildOk, cachedSteps, ensureBuilt, freshDir, parseEvents, ranSteps, runTsbuild, writeContext } from '../helpers/tsbuild.js'

const PROBE = 'RUN cat /etc/hosts > /hosts; df -k /dev/shm > /shm; grep -c " /dev/shm " /proc/mounts > /shm-mounts; ulimit -n > /nofile; ulimit -Hn > /nofile-hard; ulimit -c > /core'

let ctx: string
let root: string

beforeAll(async () => {
  await ensureBuilt()
  ctx = await writeContext(await freshDir('tsb-ctx-'), {
    'Dockerfile': `FROM ${inject('busybox')}\n${PROBE}\n`,
  })
  root = await freshDir('tsb-root-')
})

async function probe (flags: string[]): Promise<{ files: Record<string, string>; ran: string[]; cached: string[] }> {
  const out = join(await freshDir('tsb-out-'), 'fs')
  const res = await buildOk(['build', '--progress', 'rawjson', ...flags, '-o', `type=local,dest=${out}`, ctx], { root })
  const files: Record<string, string> = {}
  for (const name of ['hosts', 'shm', 'shm-mounts', 'nofile', 'nofile-hard', 'core']) files[name] = await readFile(join(out, name), 'utf8')
  const events = parseEvents(res.stderr)
  return { files, ran: ranSteps(events), cached: cachedSteps(events) }
}

/** The size column (1K-blocks) of `df -k /dev/shm`. */
const shmKiB = (df: string): number => Number(df.trim().split('\n')[1]!.trim().split(/\s+/)[1])
const isProbe = (name: string): boolean => name.includes('RUN cat /etc/hosts')

describe('--add-host, --shm-size and --ulimit', () => {
  test('a RUN sees them; a changed IP alone is a cache hit, a changed ulimit is not', async () => {
    const defaults = await probe([])
    expect(shmKiB(defaults.files['shm']!)).toBe(64 * 1024)
    expect(defaults.files['nofile']!.trim()).toBe('1024')
    expect(defaults.files['hosts']).not.toMatch(/foo/)

    const flags = ['--shm-size', '128m', '--ulimit', 'nofile=512:1024', '--ulimit', 'core=-1']
    const first = await probe(['--add-host', 'foo:10.1.2.3', ...flags])
    expect(first.files['hosts']).toMatch(/^10\.1\.2\.3\tfoo$/m)
    expect(shmKiB(first.files['shm']!)).toBe(128 * 1024)
    // The step's /dev/shm replaces the default one instead of stacking on it.
    expect(first.files['shm-mounts']!.trim()).toBe('1')
    expect(first.files['nofile']!.trim()).toBe('512')
    expect(first.files['nofile-hard']!.trim()).toBe('1024')
    expect(first.files['core']!.trim()).toBe('unlimited')
    expect(first.ran.some(isProbe)).toBe(true)

    const newIp = await probe(['--add-host', 'foo=10.9.9.9', ...flags])
    expect(newIp.cached.some(isProbe)).toBe(true)
    expect(newIp.ran.some(isProbe)).toBe(false)

    const newLimit = await probe(['--add-host', 'foo:10.9.9.9', '--shm-size', '128m', '--ulimit', 'nofile=256:1024', '--ulimit', 'core=-1'])
    expect(newLimit.ran.some(isProbe)).toBe(true)
    expect(newLimit.files['nofile']!.trim()).toBe('256')
    // A step that runs writes the IP it was given.
    expect(newLimit.files['hosts']).toMatch(/^10\.9\.9\.9\tfoo$/m)
  })

  test('a RUN that mounts its own /dev/shm keeps it', async () => {
    const own = await writeContext(await freshDir('tsb-ctx-'), {
      'Dockerfile': `FROM ${inject('busybox')}\nRUN --mount=type=tmpfs,target=/dev/shm,size=1m df -k /dev/shm > /shm\n`,
    })
    const out = join(await freshDir('tsb-out-'), 'fs')
    await buildOk(['build', '--shm-size', '128m', '-o', `type=local,dest=${out}`, own], { root })
    expect(shmKiB(await readFile(join(out, 'shm'), 'utf8'))).toBe(1024)
  })

  test.each([
    [['--add-host', 'foo:not-an-ip'], /invalid --add-host "foo:not-an-ip": "not-an-ip" is not an IP address/],
    [['--shm-size', '12x'], /invalid --shm-size "12x": unknown unit "x"/],
    [['--ulimit', 'nofile=2048:1024'], /invalid --ulimit "nofile=2048:1024": the soft limit 2048 is above the hard limit 1024/],
    [['--ulimit', 'files=10'], /invalid --ulimit "files=10": unknown limit "files"/],
  ])('%j fails with a one-screen usage error', async (flags, message) => {
    const res = await runTsbuild(['build', ...flags, ctx], { root })
    expect(res.code).not.toBe(0)
    expect(res.stderr).toMatch(message)
    expect(res.stderr).not.toMatch(/\n\s+at /)
    expect(res.stderr.split('\n').length).toBeLessThan(10)
  })
})
