import { execFile } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { LocalContentStore } from '../../src/cache/content/index.js'
import type { ImageConfig } from '../../src/common/oci.js'
import { createExportPool, createExporter, parseOutputSpec } from '../../src/exporter/index.js'
import type { ExportPool, ImageSource } from '../../src/exporter/index.js'

const run = promisify(execFile)
const isRoot = process.getuid?.() === 0
const EPOCH = 1_700_000_000

// podman on this host: rootful, cgroupfs (no systemd session in the test
// environment), file-based events (no journald), and runc because crun fails
// with the hybrid cgroup layout. `run` also needs explicit low ulimits: podman's
// defaults for RLIMIT_NOFILE and RLIMIT_NPROC (and even `--ulimit host`) are
// refused by runc here with EPERM, so both are pinned to 1024. A private storage root keeps the host's images alone.
async function podman (storage: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('podman', [
    '--root', join(storage, 'root'), '--runroot', join(storage, 'runroot'),
    '--cgroup-manager=cgroupfs', '--events-backend=file', '--runtime', 'runc', ...args,
  ], { maxBuffer: 16 << 20 })
  return stdout
}

let pool: ExportPool
let work: string
let image: ImageSource
let podmanStorage: string | undefined

/** A busybox root filesystem (the static binary plus applet links) and a layer deleting /gone. */
async function makeImage (): Promise<ImageSource> {
  const base = join(work, 'base')
  await mkdir(join(base, 'bin'), { recursive: true })
  await copyFile('/bin/busybox', join(base, 'bin/busybox'))
  for (const applet of ['sh', 'cat', 'ls', 'test', 'echo']) await symlink('busybox', join(base, 'bin', applet))
  await writeFile(join(base, 'x'), 'hello from tsbuild\n')
  await writeFile(join(base, 'gone'), 'to be deleted\n')
  const top = join(work, 'top')
  await mkdir(top)
  await run('mknod', [join(top, 'gone'), 'c', '0', '0'])
  await writeFile(join(top, 'y'), 'second layer\n')
  const config: ImageConfig = {
    architecture: 'amd64', os: 'linux',
    config: { Env: ['PATH=/bin'], Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: [] },
    history: [{ created_by: 'COPY busybox /' }, { created_by: 'RUN rm /gone' }],
  }
  return { config, layers: [{ kind: 'dir', dir: base }, { kind: 'dir', dir: top }] }
}

async function exportTo (spec: string, opts: { epoch?: number } = {}): Promise<void> {
  const store = new LocalContentStore(await mkdtemp(join(work, 'store-')))
  await createExporter(parseOutputSpec(spec)).export([image], { store, pool, ...(opts.epoch !== undefined ? { sourceDateEpoch: opts.epoch } : {}) })
}

describe.runIf(isRoot)('exporters judged by skopeo and podman', () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'tsbuild-exporter-it-'))
    pool = await createExportPool({ maxThreads: 2 })
    image = await makeImage()
  })
  afterAll(async () => {
    await pool?.destroy()
    if (podmanStorage !== undefined) {
      await podman(podmanStorage, 'rmi', '--all', '--force').catch(() => {})
      await rm(podmanStorage, { recursive: true, force: true }).catch(() => {})
    }
  })

  test('oci tar and oci dir are read by skopeo', async () => {
    const tarPath = join(work, 'oci.tar')
    await exportTo(`type=oci,dest=${tarPath},name=tsbuild-it:v1`)
    const info = JSON.parse((await run('skopeo', ['inspect', `oci-archive:${tarPath}`])).stdout) as { Layers: string[]; Architecture: string }
    expect(info.Layers).toHaveLength(2)
    expect(info.Architecture).toBe('amd64')
    const copied = join(work, 'copied')
    await run('skopeo', ['copy', `oci-archive:${tarPath}`, `oci:${copied}:v1`])
    expect(existsSync(join(copied, 'index.json'))).toBe(true)

    const dir = join(work, 'ocidir')
    await exportTo(`type=oci,dest=${dir},tar=false,compression=zstd`)
    const zinfo = JSON.parse((await run('skopeo', ['inspect', '--raw', `oci:${dir}`])).stdout) as { layers: Array<{ mediaType: string }> }
    expect(zinfo.layers.map((l) => l.mediaType)).toEqual(['application/vnd.oci.image.layer.v1.tar+zstd', 'application/vnd.oci.image.layer.v1.tar+zstd'])
    await run('skopeo', ['copy', `oci:${dir}`, `oci:${join(work, 'copied-zstd')}:z`])
  })

  test('docker tar loads into podman and runs with the deleted file gone', async () => {
    const tarPath = join(work, 'docker.tar')
    await exportTo(`type=docker,dest=${tarPath},name=tsbuild-it:v1`)
    const info = JSON.parse((await run('skopeo', ['inspect', `docker-archive:${tarPath}`])).stdout) as { Layers: string[] }
    expect(info.Layers).toHaveLength(2)
    // podman refuses a runroot path longer than 50 characters, hence a short name under /tmp.
    const storage = await mkdtemp('/tmp/tsp-')
    podmanStorage = storage
    await podman(storage, 'load', '-i', tarPath)
    const out = await podman(storage, 'run', '--rm', '--network=none', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024', 'tsbuild-it:v1', 'sh', '-c', 'cat /x /y; test -e /gone || echo gone-ok')
    expect(out).toBe('hello from tsbuild\nsecond layer\ngone-ok\n')
  })

  test.each(['gzip', 'zstd'])('%s oci tarballs are byte-identical across exports', async (compression) => {
    const a = join(work, `repro-a-${compression}.tar`)
    const b = join(work, `repro-b-${compression}.tar`)
    await exportTo(`type=oci,dest=${a},compression=${compression}`, { epoch: EPOCH })
    await exportTo(`type=oci,dest=${b},compression=${compression}`, { epoch: EPOCH })
    const [x, y] = [await readFile(a), await readFile(b)]
    expect(x.length).toBeGreaterThan(100_000)
    expect(Buffer.compare(x, y)).toBe(0)
    const cfg = JSON.parse((await run('skopeo', ['inspect', '--config', `oci-archive:${a}`])).stdout) as ImageConfig
    expect(cfg.created).toBe('2023-11-14T22:13:20Z')
    expect(cfg.history?.map((h) => h.created)).toEqual(['2023-11-14T22:13:20Z', '2023-11-14T22:13:20Z'])
  })

  test('local and tar outputs hold the merged root filesystem', async () => {
    const dest = join(work, 'rootfs')
    await exportTo(`type=local,dest=${dest}`)
    expect(await readFile(join(dest, 'x'), 'utf8')).toBe('hello from tsbuild\n')
    expect(await readlink(join(dest, 'bin/sh'))).toBe('busybox')
    expect(existsSync(join(dest, 'gone'))).toBe(false)
    const tarPath = join(work, 'rootfs.tar')
    await exportTo(`type=tar,dest=${tarPath}`)
    const listed = (await run('tar', ['-tf', tarPath])).stdout.split('\n')
    expect(listed).toEqual(expect.arrayContaining(['x', 'y', 'bin/', 'bin/busybox', 'bin/sh']))
    expect(listed).not.toContain('gone')
  })
})
