// --cache-to / --cache-from through the CLI against the loopback registries
// and local dirs: a rebuild on an empty state dir runs no step, downloads
// only what is read, and exports the same image.
import { readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, inject, test } from 'vitest'
import { freePort, startProxy, writeUpstream } from '../setup/registry.js'
import { buildOk, cachedSteps, ensureBuilt, freshDir, logText, parseEvents, ranSteps, runTsbuild, spawnTsbuild, vertexEvents, writeContext } from '../helpers/tsbuild.js'

let busybox: string
let registry: string
beforeAll(async () => {
  busybox = inject('busybox')
  registry = inject('registry')
  await ensureBuilt()
})

const SDE = ['--build-arg', 'SOURCE_DATE_EPOCH=1700000000']

/** Two stages; every RUN prints a marker, so a rebuild that runs one shows it. */
const twoStage = (from: string, tag: string) => [
  `FROM ${from} AS deps`,
  'COPY pkg.txt /app/pkg.txt',
  `RUN echo MARKER-deps-${tag} && mkdir -p /app/node_modules && for i in 1 2 3 4 5; do echo "module $i" > /app/node_modules/m$i; done`,
  `FROM ${from}`,
  'COPY --from=deps /app/node_modules /app/node_modules',
  'COPY main.txt /app/main.txt',
  `RUN echo MARKER-final-${tag} && cat /app/main.txt /app/node_modules/m1 > /app/out`,
].join('\n')

interface Built { events: ReturnType<typeof parseEvents>; digest: string; stderr: string }

async function build (ctx: string, extra: string[], env: Record<string, string> = {}, epoch: string[] = SDE): Promise<Built> {
  const root = await freshDir('tsb-root-')
  const meta = join(root, 'meta.json')
  const tag = extra.includes('-t') ? [] : ['-t', 'app:latest']
  const r = await buildOk(['build', '--progress=rawjson', ...epoch, ...tag, '--metadata-file', meta, ...extra, ctx], { root, env })
  const m = JSON.parse(await readFile(meta, 'utf8')) as { 'containerimage.digest': string }
  return { events: parseEvents(r.stderr), digest: m['containerimage.digest'], stderr: r.stderr }
}

async function context (tag: string): Promise<string> {
  return await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: twoStage(busybox, tag), 'pkg.txt': 'deps v1\n', 'main.txt': 'main v1\n' })
}

describe('cache export and import', () => {
  test.each([
    ['registry', (id: string) => `type=registry,ref=${registry}/cache-${id}:ci`, (id: string) => `type=registry,ref=${registry}/cache-${id}:ci`],
    ['local', (id: string) => `type=local,dest=/tmp/tsb-cache-${id}`, (id: string) => `type=local,src=/tmp/tsb-cache-${id}`],
  ])('%s, mode=max: a rebuild on an empty state dir runs nothing and exports the same image', async (kind, to, from) => {
    const id = `${kind}-${Date.now()}`
    const ctx = await context(id)
    const first = await build(ctx, ['--cache-to', `${to(id)},mode=max`])
    expect(logText(first.events)).toContain(`MARKER-deps-${id}`)
    const second = await build(ctx, ['--cache-from', from(id)])
    expect(steps(second.events)).toEqual([])
    expect(logText(second.events)).not.toContain('MARKER')
    expect(cachedSteps(second.events).some((n) => n.includes('RUN echo MARKER-final'))).toBe(true)
    expect(second.digest).toBe(first.digest)
  })

  test('without SOURCE_DATE_EPOCH the cache carries when each layer was made: the rebuild elsewhere gives the same image', async () => {
    const id = `times-${Date.now()}`
    const ctx = await context(id)
    const first = await build(ctx, ['--cache-to', `type=local,dest=/tmp/tsb-cache-${id},mode=max`], {}, [])
    const second = await build(ctx, ['--cache-from', `type=local,src=/tmp/tsb-cache-${id}`], {}, [])
    expect(steps(second.events)).toEqual([])
    expect(second.digest).toBe(first.digest)
  })

  test('a fully cached --push on an empty runner downloads no layer the registry already has; save and push fetch them when asked', async () => {
    const id = `lazy-${Date.now()}`
    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: `FROM ${busybox}\nRUN head -c 300000 /dev/urandom > /big\nCOPY main.txt /main.txt\n`, 'main.txt': 'main\n',
    })
    const image = `${registry}/app-${id}:1`
    const cache = `type=registry,ref=${registry}/app-${id}:cache`
    await buildOk(['build', '--progress=plain', '--push', '-t', image, '--cache-to', `${cache},mode=max`, ctx], { root: await freshDir('tsb-root-') })
    const root = await freshDir('tsb-root-')
    const second = await buildOk(['build', '--progress=rawjson', '--push', '-t', image, '--cache-from', cache, ctx], { root })
    expect(steps(parseEvents(second.stderr))).toEqual([])
    // The RUN's 300 kB layer is in the registry twice over (cache and image): this runner never downloads it.
    const blobs = await readdir(join(root, 'blobs', 'sha256'))
    const sizes = await Promise.all(blobs.map(async (b) => (await stat(join(root, 'blobs', 'sha256', b))).size))
    expect(Math.max(...sizes)).toBeLessThan(100_000)
    // What needs the bytes fetches them from where the image's name points.
    const copy = await buildOk(['push', image, `${registry}/copy-${id}:1`], { root })
    expect(copy.stdout).toContain(`copy-${id}:1: digest: sha256:`)
    // Renamed and the pushed name removed: the layers still come from where the build pushed them.
    await buildOk(['tag', image, 'renamed:1'], { root })
    await buildOk(['rmi', image], { root })
    const out = join(await freshDir('tsb-out-'), 'app.tar')
    await buildOk(['save', '-o', out, 'renamed:1'], { root })
    expect((await stat(out)).size).toBeGreaterThan(300_000)

    // Another repository of the registry: the cache's layers are mounted from the cache's repository, not downloaded.
    const other = await freshDir('tsb-root-')
    await buildOk(['build', '--progress=plain', '--push', '-t', `${registry}/other-${id}:1`, '--cache-from', cache, ctx], { root: other })
    const otherSizes = await Promise.all((await readdir(join(other, 'blobs', 'sha256'))).map(async (b) => (await stat(join(other, 'blobs', 'sha256', b))).size))
    expect(Math.max(...otherSizes)).toBeLessThan(100_000)
  })

  test('a --push that fails stores no image', async () => {
    const root = await freshDir('tsb-root-')
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN echo x > /x\n` })
    const r = await runTsbuild(['build', '--progress=plain', '--push', '-t', '127.0.0.1:9/nowhere:1', ctx], { root })
    expect(r.code).toBe(1)
    expect((await buildOk(['images'], { root })).stdout).not.toContain('nowhere')
  })

  test('mode=max keeps intermediate steps: a changed last file re-runs only the final RUN', async () => {
    const id = `max-${Date.now()}`
    const ctx = await context(id)
    const ref = `${registry}/cache-${id}:ci`
    await build(ctx, ['--cache-to', `type=registry,ref=${ref},mode=max`])
    await writeFile(join(ctx, 'main.txt'), 'main v2\n')
    const second = await build(ctx, ['--cache-from', `type=registry,ref=${ref}`])
    const ran = ranSteps(second.events)
    expect(ran.some((n) => n.includes('MARKER-final'))).toBe(true)
    expect(ran.some((n) => n.includes('MARKER-deps'))).toBe(false)
    // This runner has no build of its own to compare with: the reasons say what was asked.
    const reasons = new Map(vertexEvents(second.events).flatMap((e) => (e.status === 'started' && e.missReason !== undefined ? [[e.name, e.missReason] as const] : [])))
    expect([...reasons].find(([n]) => n.includes('COPY main.txt'))?.[1]).toBe('no cache record here or in the imported cache')
    expect([...reasons].find(([n]) => n.includes('MARKER-final'))?.[1]).toBe('parent step re-ran')
  })

  test('mode=max from a build fully cached locally still exports every step, not just the last', async () => {
    const id = `warm-${Date.now()}`
    const ctx = await context(id)
    const root = await freshDir('tsb-root-')
    await buildOk(['build', '--progress=rawjson', ...SDE, '-t', 'app', ctx], { root })
    const dest = join(await freshDir('tsb-cache-'), 'cache')
    const warm = await buildOk(['build', '--progress=rawjson', ...SDE, '-t', 'app', '--cache-to', `type=local,dest=${dest},mode=max`, ctx], { root })
    expect(ranSteps(parseEvents(warm.stderr)).filter((n) => n.includes('RUN') || n.includes('COPY'))).toEqual([])
    await writeFile(join(ctx, 'main.txt'), 'main v2\n')
    const cold = await build(ctx, ['--cache-from', `type=local,src=${dest}`])
    const ran = ranSteps(cold.events)
    expect(ran.some((n) => n.includes('MARKER-final'))).toBe(true)
    expect(ran.some((n) => n.includes('MARKER-deps'))).toBe(false)
  })

  test.each([['with SOURCE_DATE_EPOCH', SDE], ['without it: the times travel in the inline cache', []]])('inline cache in a pushed image serves a rebuild with the same digest, %s', async (_name, epoch) => {
    const id = `inline-${Date.now()}-${epoch.length}`
    const ctx = await context(id)
    const image = `${registry}/app-${id}:latest`
    const first = await build(ctx, ['--cache-to', 'type=inline', '--push', '-t', image], {}, epoch)
    const second = await build(ctx, ['--cache-from', image, '--cache-to', 'type=inline', '--push', '-t', image], {}, epoch)
    expect(steps(second.events)).toEqual([])
    expect(second.digest).toBe(first.digest)
    const third = await build(ctx, ['--cache-from', image, '--cache-to', 'type=inline', '--push', '-t', image], {}, epoch)
    expect(third.digest).toBe(first.digest)
  })

  test('several --cache-from: a missing one is skipped, the next one serves', async () => {
    const id = `multi-${Date.now()}`
    const ctx = await context(id)
    await build(ctx, ['--cache-to', `type=local,dest=/tmp/tsb-cache-${id},mode=max`])
    const second = await build(ctx, ['--cache-from', `type=registry,ref=${registry}/nothing-${id}:x`, '--cache-from', `type=local,src=/tmp/tsb-cache-${id}`])
    expect(steps(second.events)).toEqual([])
    // As buildx: the cache that is not there is worth a warning (a typo in a name looks the same).
    const warnings = second.events.filter((e) => e.type === 'warning').map((e) => String(e.message))
    expect(warnings).toContainEqual(expect.stringMatching(new RegExp(`cache import from registry .*nothing-${id}:x: not found, nothing imported`)))
    expect(warnings.some((w) => w.includes(`tsb-cache-${id}`))).toBe(false)
  })

  test('a damaged blob in an imported cache fails the build naming the cache and what to do', async () => {
    const id = `damaged-${Date.now()}`
    const ctx = await context(id)
    const dir = `/tmp/tsb-cache-${id}`
    await build(ctx, ['--cache-to', `type=local,dest=${dir},mode=max`])
    // Cut the largest blob (a layer) in half.
    const { readdir, stat, truncate } = await import('node:fs/promises')
    const blobs = join(dir, 'blobs', 'sha256')
    const sizes = await Promise.all((await readdir(blobs)).map(async (b) => ({ b, size: (await stat(join(blobs, b))).size })))
    const largest = sizes.sort((x, y) => y.size - x.size)[0]!
    await truncate(join(blobs, largest.b), Math.floor(largest.size / 2))
    const res = await runTsbuild(['build', '--progress', 'plain', ...SDE, '--cache-from', `type=local,src=${dir}`, '-o', `type=tar,dest=${join(await freshDir('tsb-out-'), 'x.tar')}`, ctx], { root: await freshDir('tsb-root-') })
    expect(res.code).toBe(1)
    expect(res.stderr).toContain(`cache dir ${dir}: blob sha256:${largest.b}`)
    expect(res.stderr).toMatch(/export it again \(--cache-to\)/)
    expect(res.stderr).not.toMatch(/internal error|at .*\.js:\d+/)
  })

  test('ignore-error=true with a registry that is down: the build succeeds with a warning', async () => {
    const ctx = await context(`down-${Date.now()}`)
    const down = `127.0.0.1:${await freePort()}`
    const r = await build(ctx, ['--cache-to', `type=registry,ref=${down}/cache:x,mode=max,ignore-error=true`])
    expect(r.stderr).toMatch(/cache export to registry 127\.0\.0\.1:\d+\/cache:x failed/)
  })

  test('without ignore-error, a registry that is down fails the build', async () => {
    const ctx = await context(`down2-${Date.now()}`)
    const down = `127.0.0.1:${await freePort()}`
    const r = await runTsbuild(['build', '--progress=plain', '--cache-to', `type=registry,ref=${down}/cache:x`, ctx], { root: await freshDir('tsb-root-') })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/127\.0\.0\.1/)
  })

  test('authenticated registry: credentials from DOCKER_CONFIG', async () => {
    const auth = inject('authRegistry')
    const dockerConfig = await freshDir('tsb-docker-')
    await writeFile(join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [auth.host]: { auth: Buffer.from(`${auth.username}:${auth.password}`).toString('base64') } } }))
    const id = `auth-${Date.now()}`
    const ctx = await context(id)
    const ref = `type=registry,ref=${auth.host}/cache-${id}:ci`
    const first = await build(ctx, ['--cache-to', `${ref},mode=max`], { DOCKER_CONFIG: dockerConfig })
    const second = await build(ctx, ['--cache-from', ref], { DOCKER_CONFIG: dockerConfig })
    expect(steps(second.events)).toEqual([])
    expect(second.digest).toBe(first.digest)
  })

  test('a build killed half-way leaves a cache of the steps that finished', async () => {
    const id = `kill-${Date.now()}`
    const dir = `/tmp/tsb-cache-${id}`
    const slow = (last: string) => [`FROM ${busybox}`, `RUN echo MARKER-one-${id} > /one`, `RUN echo MARKER-two-${id} > /two`, `RUN ${last}`].join('\n')
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: slow('sleep 60') })
    const killedRoot = await freshDir('tsb-root-')
    const run = spawnTsbuild(['build', '--progress=rawjson', '--cache-to', `type=local,dest=${dir},mode=max`, ctx], { root: killedRoot })
    // Wait until the second RUN's record is in the exported cache, then kill -9.
    const deadline = Date.now() + 60_000
    for (;;) {
      const index = await readFile(join(dir, 'index.json'), 'utf8').catch(() => '')
      if (index !== '' && await recordCount(dir) >= 3) break
      if (Date.now() > deadline) throw new Error(`no cache appeared:\n${run.stderrSoFar()}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    run.child.kill('SIGKILL')
    await run.done
    await writeFile(join(ctx, 'Dockerfile'), slow('true'))
    const r = await buildOk(['build', '--progress=rawjson', '--cache-from', `type=local,src=${dir}`, ctx], { root: await freshDir('tsb-root-') })
    const events = parseEvents(r.stderr)
    expect(logText(events)).not.toContain('MARKER')
    expect(steps(events)).toEqual([expect.stringContaining('RUN true')])
    // The killed build's container and mounts are swept by the next build on its state dir.
    await buildOk(['build', await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: 'FROM scratch\n' })], { root: killedRoot })
  })
})

/** Records in a local cache dir's current manifest. */
async function recordCount (dir: string): Promise<number> {
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> }
  const blob = async (d: string) => JSON.parse(await readFile(join(dir, 'blobs', 'sha256', d.slice(7)), 'utf8')) as Record<string, unknown>
  const manifest = await blob(index.manifests[0]!.digest) as { config: { digest: string } }
  return ((await blob(manifest.config.digest)).records as unknown[]).length
}

/** Steps that ran, leaving out loading the context (it is scanned on every build). */
const steps = (events: ReturnType<typeof parseEvents>): string[] => ranSteps(events).filter((n) => !n.startsWith('[internal]'))

describe('cross-repository mounts', () => {
  test('cache blobs the base image already has in the registry are mounted from its repository, not uploaded', async () => {
    const statuses: Array<{ method: string; url: string; status: number }> = []
    const proxy = await startProxy(registry, async (_req, res, forward) => {
      const up = await forward()
      statuses.push({ method: _req.method, url: _req.url, status: up.status })
      writeUpstream(res, up)
    })
    try {
      const base = busybox.replace(registry, proxy.host)
      const id = Math.random().toString(36).slice(2, 8)
      const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: [`FROM ${base}`, `RUN echo ${id} > /id`].join('\n') })
      await build(ctx, ['--cache-to', `type=registry,ref=${proxy.host}/mounts-${id}:cache,mode=max`])
      const baseRepo = base.slice(proxy.host.length + 1).replace(/[:@].*$/, '')
      // Every blob is offered as a mount from the base image's repository; the
      // registry mounts what that repository has (201) and opens an upload
      // session for the rest (202), which the build's own layers then use.
      const offers = statuses.filter((s) => s.method === 'POST' && s.url.includes(`from=${encodeURIComponent(baseRepo)}`))
      const digestIn = (url: string, param: string): string => decodeURIComponent(new RegExp(`${param}=([^&]+)`).exec(url)![1]!)
      const mounted = new Set(offers.filter((s) => s.status === 201).map((s) => digestIn(s.url, 'mount')))
      expect(mounted.size).toBeGreaterThan(0) // the base layer
      expect(offers.every((s) => s.status === 201 || s.status === 202)).toBe(true)
      const uploaded = statuses.filter((s) => s.method === 'PUT' && s.url.includes('digest=')).map((s) => digestIn(s.url, 'digest'))
      expect(uploaded.length).toBeGreaterThan(0) // the RUN's layer
      expect(uploaded.filter((d) => mounted.has(d))).toEqual([])
    } finally {
      await proxy.close()
    }
  })
})

describe('cache export to a local dir while the build runs', () => {
  test('the manifest is rewritten a few times, not per step, and the dir keeps only the last config and manifest', async () => {
    const id = `commits-${Date.now()}`
    const runs = 12
    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: [`FROM ${busybox}`, ...Array.from({ length: runs }, (_, i) => `RUN sleep 0.3 && echo ${i} ${id} > /f${i}`)].join('\n'),
    })
    const dest = join(await freshDir('tsb-cache-'), 'cache')
    const run = spawnTsbuild(['build', '--progress=rawjson', ...SDE, '--cache-to', `type=local,dest=${dest},mode=max`, ctx], { root: await freshDir('tsb-root-') })
    // Every version of index.json seen while the build runs: each is one commit.
    const seen = new Set<string>()
    let finished = false
    const built = run.done.finally(() => { finished = true })
    while (!finished) {
      const index = await readFile(join(dest, 'index.json'), 'utf8').catch(() => '')
      if (index !== '') seen.add(index)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const r = await built
    expect(r.code, r.stderr).toBe(0)
    seen.add(await readFile(join(dest, 'index.json'), 'utf8'))
    // A build of several seconds commits more than once (what finished is kept if it is killed), far fewer than once per step.
    expect(seen.size).toBeGreaterThanOrEqual(2)
    expect(seen.size).toBeLessThan(runs)
    // Only the blobs the index names remain: the layers, one config, one manifest.
    const index = JSON.parse(await readFile(join(dest, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> }
    const manifestDigest = index.manifests[0]!.digest
    const manifest = JSON.parse(await readFile(join(dest, 'blobs', 'sha256', manifestDigest.slice(7)), 'utf8')) as { config: { digest: string }; layers: Array<{ digest: string }> }
    const named = [manifestDigest, manifest.config.digest, ...manifest.layers.map((l) => l.digest)].map((d) => d.slice(7)).sort()
    expect((await readdir(join(dest, 'blobs', 'sha256'))).sort()).toEqual(named)
    expect(await recordCount(dest)).toBe(runs + 1)
    const again = await build(ctx, ['--cache-from', `type=local,src=${dest}`])
    expect(steps(again.events)).toEqual([])
  })
})
