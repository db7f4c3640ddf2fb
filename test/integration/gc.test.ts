// Disk usage, prune and the automatic collection under TSBUILD_GC_MAX_STORAGE,
// through the CLI on real builds (runc, overlay snapshots, the loopback registry's busybox).
import { execFile } from 'node:child_process'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, inject, test } from 'vitest'
import type { UsageSummary } from '../../src/cache/gc/index.js'
import { buildOk, ensureBuilt, freshDir, parseEvents, ranSteps, runTsbuild, spawnTsbuild, vertexEvents, writeContext } from '../helpers/tsbuild.js'

const exec = promisify(execFile)
const MB = 1024 * 1024

let busybox: string
beforeAll(async () => {
  busybox = inject('busybox')
  await ensureBuilt()
})

type DuJson = UsageSummary & { onDisk: number; gc: { maxStorage: number } }
const du = async (root: string, env: Record<string, string> = {}): Promise<DuJson> =>
  JSON.parse((await buildOk(['du', '--format', 'json'], { root, env })).stdout) as DuJson
const diskBytes = async (path: string): Promise<number> => Number((await exec('du', ['-sb', path])).stdout.split('\t')[0])

describe('tsbuild du and prune', () => {
  let root: string
  let ctx: string
  beforeAll(async () => {
    root = await freshDir('tsb-gc-root-')
    ctx = await writeContext(await freshDir('tsb-gc-ctx-'), {
      Dockerfile: [
        `FROM ${busybox}`,
        'RUN head -c 1000000 /dev/urandom > /one',
        'RUN --mount=type=cache,target=/cache head -c 300000 /dev/urandom > /cache/data && head -c 1000000 /dev/urandom > /two',
      ].join('\n'),
    })
    await buildOk(['build', '--progress=plain', '-t', 'app', ctx], { root })
  })

  test('du numbers match the disk', async () => {
    await du(root) // the first run measures snapshots once and remembers their sizes
    const usage = await du(root)
    expect(usage.onDisk).toBe(await diskBytes(root))
    const snapDir = join(root, 'snapshots')
    const ids = (await readdir(snapDir)).filter((n) => n !== 'names')
    expect(ids.length).toBe(usage.snapshots.count)
    let snapBytes = 0
    for (const id of ids) snapBytes += await diskBytes(join(snapDir, id))
    expect(usage.snapshots.size).toBe(snapBytes)
    let blobBytes = 0
    for (const b of await readdir(join(root, 'blobs', 'sha256'))) blobBytes += (await stat(join(root, 'blobs', 'sha256', b))).size
    expect(usage.blobs.size).toBe(blobBytes)
    expect(usage.blobs.inUseByImages).toBeGreaterThan(2 * MB) // the two random layers, compressed, in the app image
    expect(usage.cacheMounts.count).toBe(1)
    expect(usage.cacheMounts.size).toBeGreaterThanOrEqual(300000)
    // Each RUN snapshot sits on the base layers: shared, counted once.
    expect(usage.snapshots.shared).toBeGreaterThan(0)
    expect(usage.total).toBe(usage.records.size + usage.snapshots.size + usage.blobs.size + usage.cacheMounts.size)
    const text = (await buildOk(['du', '--verbose'], { root })).stdout
    expect(text).toMatch(/RUN head -c 1000000/)
    // Each step shows what it added (its own layer), as buildx does, not 0B for everything under a later step.
    const step = usage.perRecord.find((r) => r.description?.includes('head -c 1000000'))
    expect(step?.size).toBeGreaterThanOrEqual(1000000)
    expect(text).toMatch(/RUN head -c 1000000 \/dev\/urandom > \/one\s+1\.\d+MB\s+false\s/)
    expect(text).toMatch(/^Reclaimable:/m)
  })

  test('prune asks first, removes what it reports and keeps stored images and cache mounts', async () => {
    const before = await du(root)
    const declined = await runTsbuild(['prune'], { root, input: 'n\n' })
    expect(declined.code).toBe(0) // as buildx: declining is not a failure
    expect((await du(root)).records.count).toBe(before.records.count)

    const pruned = await buildOk(['prune', '-f', '--verbose'], { root })
    const deleted = pruned.stdout.split('\n').filter((l) => l.startsWith('deleted record'))
    expect(deleted).toHaveLength(before.records.count)
    expect(pruned.stdout).toContain(`Deleted ${before.records.count} cache records, ${before.snapshots.count} snapshots`)
    const after = await du(root)
    expect(after.records.count).toBe(0)
    expect(after.snapshots.count).toBe(0)
    expect(after.blobs.size).toBe(after.blobs.inUseByImages)
    expect(after.cacheMounts.count).toBe(1)
    expect(after.cacheTotal).toBe(after.cacheMounts.size)
    // The image is whole: every blob readable by a standard tool.
    const out = await freshDir('tsb-gc-copy-')
    await exec('skopeo', ['copy', `oci:${root}:app`, `dir:${out}`])

    const all = await buildOk(['prune', '--all', '-f'], { root })
    expect(all.stdout).toContain('1 cache mounts')
    expect((await du(root)).cacheMounts.count).toBe(0)
  })

  test('usage errors', async () => {
    expect((await runTsbuild(['prune', '-f', '--filter', 'label=x'], { root })).stderr).toMatch(/only until=DURATION/)
    expect((await runTsbuild(['prune', '-f', '--keep-storage', 'lots'], { root })).code).toBe(2)
  })
})

describe('automatic collection under TSBUILD_GC_MAX_STORAGE', () => {
  test('a capped build brings the cache under the cap while another build runs, which still succeeds', async () => {
    const root = await freshDir('tsb-gc-cap-')
    const cap = 12 * MB
    const big = { TSBUILD_GC_MAX_STORAGE: '1GB' }
    const small = { TSBUILD_GC_MAX_STORAGE: String(cap) }
    // Fill: five stacked 5 MB layers, far over the cap.
    const filler = await writeContext(await freshDir('tsb-gc-a-'), {
      Dockerfile: [`FROM ${busybox}`, ...[1, 2, 3, 4, 5].map((i) => `RUN head -c 5000000 /dev/urandom > /f${i}`)].join('\n'),
    })
    await buildOk(['build', '--progress=plain', filler], { root, env: big })
    expect((await du(root, small)).cacheTotal).toBeGreaterThan(25 * MB)

    // A slow build holds its lease while the capped build collects.
    const slow = await writeContext(await freshDir('tsb-gc-b-'), {
      Dockerfile: [`FROM ${busybox}`, 'RUN echo before > /before', 'RUN sleep 4 && echo slow > /slow'].join('\n'),
    })
    const running = spawnTsbuild(['build', '--progress=rawjson', slow], { root, env: big })
    while (!running.stderrSoFar().includes('sleep 4')) await new Promise((r) => setTimeout(r, 100))

    const quick = await writeContext(await freshDir('tsb-gc-c-'), { Dockerfile: `FROM ${busybox}\nRUN echo quick > /quick\n` })
    const capped = parseEvents((await buildOk(['build', '--progress=rawjson', quick], { root, env: small })).stderr)
    expect(capped.some((e) => e.type === 'progress' && e.id === 'gc' && /records removed/.test(e.name))).toBe(true)
    const during = await du(root, small)
    expect(during.cacheTotal).toBeLessThanOrEqual(cap)

    const slowRun = await running.done
    expect(slowRun.code, slowRun.stderr).toBe(0)
    expect(vertexEvents(parseEvents(slowRun.stderr)).filter((e) => e.status === 'error')).toEqual([])

    // Every remaining record still builds; what was collected runs again.
    const again = parseEvents((await buildOk(['build', '--progress=rawjson', slow], { root, env: small })).stderr)
    expect(ranSteps(again)).toEqual([])
    const refill = parseEvents((await buildOk(['build', '--progress=rawjson', filler], { root, env: small })).stderr)
    expect(ranSteps(refill).filter((n) => n.includes('RUN'))).toHaveLength(5)
    expect((await du(root, small)).cacheTotal).toBeLessThanOrEqual(cap)
  }, 240_000)
})
