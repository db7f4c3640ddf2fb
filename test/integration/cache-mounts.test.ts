// Portable cache mounts: `--cache-to …,mounts=true` exports RUN cache mount
// directories beside the step records, and `--cache-from` restores them into
// the mount before a RUN on another machine (here: an empty state dir).
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, inject, test } from 'vitest'
import type { CacheConfig } from '../../src/cache/remote/index.js'
import { buildOk, ensureBuilt, freshDir, logText, parseEvents, ranSteps, runTsbuild, writeContext } from '../helpers/tsbuild.js'

let busybox: string
let registry: string
beforeAll(async () => {
  busybox = inject('busybox')
  registry = inject('registry')
  await ensureBuilt()
})

interface Built { log: string; ran: string[]; warnings: string[] }

/** One build on a fresh state dir (a new CI runner). */
async function build (ctx: string, extra: string[]): Promise<Built> {
  const root = await freshDir('tsb-root-')
  const r = await buildOk(['build', '--progress=rawjson', '-t', 'app:latest', ...extra, ctx], { root })
  const events = parseEvents(r.stderr)
  return {
    log: logText(events),
    ran: ranSteps(events),
    warnings: events.flatMap((e) => (e.type === 'warning' ? [e.message] : [])),
  }
}

/** A RUN that lists what it found in its cache mount, then adds to it. */
const dockerfile = (id: string, step: string, mountOpts = '') => [
  `FROM ${busybox}`,
  'COPY lock.txt /lock.txt',
  `RUN --mount=type=cache,target=/cache,id=${id}${mountOpts} echo "${step}: found [$(cat /cache/*.txt 2>/dev/null | tr '\\n' ' ')]" && cp /lock.txt /cache/$(cat /lock.txt).txt && echo ${step} > /out`,
].join('\n')

async function context (id: string, step: string, lock: string, mountOpts = ''): Promise<string> {
  return await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: dockerfile(id, step, mountOpts), 'lock.txt': `${lock}\n` })
}

/** The cache config a registry holds under `ref` (repository:tag). */
async function registryCacheConfig (ref: string): Promise<CacheConfig> {
  const [repo, tag] = ref.split(':') as [string, string]
  const accept = 'application/vnd.oci.image.manifest.v1+json'
  const manifest = await (await fetch(`http://${registry}/v2/${repo}/manifests/${tag}`, { headers: { accept } })).json() as { config: { digest: string } }
  return await (await fetch(`http://${registry}/v2/${repo}/blobs/${manifest.config.digest}`)).json() as CacheConfig
}

async function localCacheConfig (dir: string): Promise<CacheConfig> {
  const blob = async (digest: string): Promise<unknown> => JSON.parse(await readFile(join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length)), 'utf8'))
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> }
  const manifest = await blob(index.manifests[0]!.digest) as { config: { digest: string } }
  return await blob(manifest.config.digest) as CacheConfig
}

describe('portable cache mounts', () => {
  test('a RUN on an empty state dir finds the cache mount another build exported; without mounts=true it does not', async () => {
    const id = `m${Date.now()}`
    const withMounts = `cache-mounts-${id}:ci`
    const without = `cache-mounts-${id}-plain:ci`
    await build(await context(id, 'A', 'lock-a'), ['--cache-to', `type=registry,ref=${registry}/${withMounts},mode=max,mounts=true`])
    await build(await context(id, 'A', 'lock-a'), ['--cache-to', `type=registry,ref=${registry}/${without},mode=max`])
    expect((await registryCacheConfig(withMounts)).mounts).toHaveLength(1)
    expect((await registryCacheConfig(without)).mounts).toBeUndefined()

    // B changes the step after the mount, so it runs, on a runner with nothing local.
    const b = await build(await context(id, 'B', 'lock-a'), ['--cache-from', `type=registry,ref=${registry}/${withMounts}`])
    expect(b.ran.some((n) => n.includes('RUN --mount=type=cache'))).toBe(true)
    expect(b.log).toContain('B: found [lock-a ]')

    const plain = await build(await context(id, 'B', 'lock-a'), ['--cache-from', `type=registry,ref=${registry}/${without}`])
    expect(plain.log).toContain('B: found []')
  })

  test('key-from: a changed lockfile is a new key that starts from the newest previous contents', async () => {
    const id = `k${Date.now()}`
    const ref = `cache-keyfrom-${id}:ci`
    const to = ['--cache-to', `type=registry,ref=${registry}/${ref},mode=max,mounts=true`]
    const from = ['--cache-from', `type=registry,ref=${registry}/${ref}`]
    await build(await context(id, 'A', 'v1', ',key-from=lock.txt'), to)
    const first = (await registryCacheConfig(ref)).mounts!
    expect(first).toHaveLength(1)

    // Same lockfile, changed step: the exact key is found, and exporting again keeps one entry.
    const same = await build(await context(id, 'B', 'v1', ',key-from=lock.txt'), [...from, ...to])
    expect(same.log).toContain('B: found [v1 ]')
    expect((await registryCacheConfig(ref)).mounts!.map((m) => m.key)).toEqual([first[0]!.key])

    // New lockfile: nothing under its key yet, so the newest v1 contents seed it; its export gets a new key.
    const changed = await build(await context(id, 'C', 'v2', ',key-from=lock.txt'), [...from, ...to])
    expect(changed.log).toContain('C: found [v1 ]')
    const mounts = (await registryCacheConfig(ref)).mounts!
    expect(mounts).toHaveLength(2)
    expect(new Set(mounts.map((m) => m.key)).size).toBe(2)
    expect(mounts.every((m) => m.id === id)).toBe(true)
  })

  test('a mount over mount-max-size is skipped with a warning and the build succeeds (type=local)', async () => {
    const id = `s${Date.now()}`
    const dir = join(await freshDir('tsb-cache-'), 'cache')
    const ctx = await context(id, 'A', 'big')
    await writeFile(join(ctx, 'Dockerfile'), dockerfile(id, 'A').replace('&& echo A', '&& head -c 200000 /dev/zero > /cache/zeros && echo A'))
    const small = await build(ctx, ['--cache-to', `type=local,dest=${dir},mode=max,mounts=true,mount-max-size=100k`])
    expect(small.warnings.some((w) => w.includes(`cache mount ${id}`) && w.includes('over mount-max-size'))).toBe(true)
    expect((await localCacheConfig(dir)).mounts).toBeUndefined()
    expect((await localCacheConfig(dir)).records.length).toBeGreaterThan(0)

    const roomy = join(await freshDir('tsb-cache-'), 'cache')
    await build(ctx, ['--cache-to', `type=local,dest=${roomy},mode=max,mounts=true,mount-max-size=10MB`])
    expect((await localCacheConfig(roomy)).mounts).toHaveLength(1)
    const restored = await build(await context(id, 'B', 'big'), ['--cache-from', `type=local,src=${roomy}`])
    expect(restored.log).toContain('B: found [big ]')
  })
})

describe('cache mount uid/gid/mode', () => {
  /** Builds on one state dir; each prints `stat /c` from inside the RUN. */
  async function statBuild (root: string, lines: string[]): Promise<{ code: number | null; log: string; stderr: string }> {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: [`FROM ${busybox}`, ...lines].join('\n') })
    const r = await runTsbuild(['build', '--progress=rawjson', '--no-cache', ctx], { root })
    return { code: r.code, log: r.code === 0 ? logText(parseEvents(r.stderr)) : '', stderr: r.stderr }
  }
  const run = (opts: string, cmd: string): string => `RUN --mount=type=cache,id=perm,target=/c${opts} ${cmd} && echo "perm: $(stat -c '%a %u %g' /c)"`

  test.each([
    ['uid/gid as USER nobody', '755 65534 65534', ['USER nobody', run(',uid=65534,gid=65534', 'touch /c/x')]],
    ['mode=0700 with uid/gid', '700 65534 65534', [run(',uid=65534,gid=65534,mode=0700', 'true')]],
    ['mode alone', '750 0 0', [run(',mode=0750', 'true')]],
    ['none of them', '755 0 0', [run('', 'touch /c/x')]],
  ])('%s: a new cache directory starts as %s', async (_name, expected, lines) => {
    const r = await statBuild(await freshDir('tsb-root-'), lines)
    expect(r.code, r.stderr).toBe(0)
    expect(r.log).toContain(`perm: ${expected}`)
  })

  test('USER nobody cannot write a cache made without uid (as in BuildKit)', async () => {
    const r = await statBuild(await freshDir('tsb-root-'), ['USER nobody', run('', 'touch /c/x')])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('Permission denied')
  })

  test('an existing cache keeps its contents, owner and mode whatever a later mount asks', async () => {
    const root = await freshDir('tsb-root-')
    const first = await statBuild(root, ['USER nobody', run(',uid=65534,gid=65534,mode=0700', 'touch /c/x')])
    expect(first.code, first.stderr).toBe(0)
    expect(first.log).toContain('perm: 700 65534 65534')
    const later = await statBuild(root, [run(',uid=1000,gid=1000,mode=0777', 'ls /c')])
    expect(later.code, later.stderr).toBe(0)
    expect(later.log).toContain('perm: 700 65534 65534')
    expect(later.log).toMatch(/^x$/m)
  })
})
