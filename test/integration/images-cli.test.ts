// tsbuild pull / push / save against the loopback registries, judged by skopeo and podman.
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { ImageStore, LocalContentStore, listPlatforms } from '../../src/cache/index.js'
import { formatPlatform } from '../../src/common/platform.js'
import { freePort, startProxy, writeUpstream, type TestProxy } from '../setup/registry.js'
import { runMain, type CliResult } from '../helpers/inProcess.js'

const run = promisify(execFile)
const isRoot = process.getuid?.() === 0

/** Run the CLI in-process against state dir `root`, with docker credentials from `dockerConfig` (a dir). */
async function tsbuild (root: string, dockerConfig: string, ...argv: string[]): Promise<CliResult> {
  return await runMain(argv, { env: { TSBUILD_ROOT: root, DOCKER_CONFIG: dockerConfig, PATH: process.env.PATH }, cwd: root })
}

async function skopeoJson<T> (...args: string[]): Promise<T> {
  return JSON.parse((await run('skopeo', args, { maxBuffer: 16 << 20 })).stdout) as T
}

let work: string
let noAuth: string
let busybox: string
let registry: string

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tsbuild-images-cli-'))
  noAuth = await mkdtemp(join(work, 'docker-'))
  busybox = inject('busybox')
  registry = inject('registry')
})
afterAll(async () => { await rm(work, { recursive: true, force: true }) })

const fresh = async (): Promise<string> => await mkdtemp(join(work, 'root-'))

describe('tsbuild pull', () => {
  test.each(['linux/amd64', 'linux/arm64'])('pulls %s of the busybox image into the local store under its name', async (platform) => {
    const root = await fresh()
    const r = await tsbuild(root, noAuth, 'pull', '--platform', platform, busybox)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout.trim().split('\n').at(-1)).toBe(busybox)
    const stored = await (await ImageStore.open(root)).get(busybox)
    expect((await listPlatforms(new LocalContentStore(root), stored.descriptor)).map(formatPlatform)).toEqual([platform])
    // skopeo reads the state dir as an OCI layout: the pulled image is complete there.
    const refName = stored.descriptor.annotations?.['org.opencontainers.image.ref.name']
    expect(refName).toBe(busybox.replace(/:latest$/, ''))
    const info = await skopeoJson<{ Architecture: string; Layers: string[] }>('inspect', `oci:${root}:${refName}`)
    expect(info.Architecture).toBe(platform.split('/')[1])
  })

  test('an unknown tag is one line naming the image', async () => {
    const r = await tsbuild(await fresh(), noAuth, 'pull', `${registry}/busybox:nosuchtag`)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(new RegExp(`^ERROR: image ${registry}/busybox:nosuchtag.* not found.*\n$`))
  })

  test('a platform the image lacks lists the platforms it has', async () => {
    const r = await tsbuild(await fresh(), noAuth, 'pull', '--platform', 'linux/s390x', busybox)
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(`ERROR: image ${busybox} has no manifest for linux/s390x; it has linux/amd64, linux/arm64\n`)
  })

  test('a registry that is down says it is unreachable', async () => {
    const down = `127.0.0.1:${await freePort()}`
    const r = await tsbuild(await fresh(), noAuth, 'pull', `${down}/busybox:latest`)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(new RegExp(`^ERROR: ${down}/busybox:latest: registry ${down} is unreachable after \\d+ tries: .*ECONNREFUSED.*\n$`))
  })

  test('wrong credentials from ~/.docker/config.json are rejected with one line and a hint', async () => {
    const auth = inject('authRegistry')
    const dockerConfig = await mkdtemp(join(work, 'docker-'))
    await writeFile(join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [auth.host]: { auth: Buffer.from(`${auth.username}:wrong`).toString('base64') } } }))
    const r = await tsbuild(await fresh(), dockerConfig, 'pull', `${auth.host}/busybox:latest`)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(new RegExp(`^ERROR: ${auth.host}/busybox:latest: registry ${auth.host} rejected the credentials.*\nhint: check the user name and password or token for ${auth.host}: docker login ${auth.host}.*\n$`))
  })
})

describe('tsbuild push', () => {
  let proxy: TestProxy
  beforeAll(async () => { proxy = await startProxy(registry, async (_req, res, forward) => writeUpstream(res, await forward())) })
  afterAll(async () => { await proxy.close() })

  test('pushes a pulled image to another repository by mounting its blobs, then skips them all on a second push', async () => {
    const root = await fresh()
    const source = `${proxy.host}/busybox:latest`
    const dest = `${proxy.host}/copies/busybox:v1`
    expect((await tsbuild(root, noAuth, 'pull', '--platform', 'linux/amd64', source)).code).toBe(0)
    proxy.seen.length = 0
    const r = await tsbuild(root, noAuth, 'push', source, dest)
    expect(r.stderr).toBe('')
    const digest = (await (await ImageStore.open(root)).get(source)).descriptor.digest
    expect(r.stdout).toMatch(new RegExp(`^${dest}: digest: ${digest} size: \\d+\n$`))
    const uploads = proxy.seen.filter((s) => s.method === 'POST' && s.url.includes('/copies/busybox/blobs/uploads/'))
    expect(uploads.length).toBe(2) // config and the one layer
    expect(uploads.every((s) => s.url.includes('mount=') && s.url.includes('from=busybox'))).toBe(true)
    expect(proxy.seen.filter((s) => s.method === 'PUT' && s.url.includes('/blobs/uploads/'))).toEqual([])

    proxy.seen.length = 0
    expect((await tsbuild(root, noAuth, 'push', source, dest)).code).toBe(0)
    expect(proxy.seen.filter((s) => s.url.includes('/blobs/')).map((s) => s.method)).toEqual(['HEAD', 'HEAD'])

    const info = await skopeoJson<{ Digest: string; Architecture: string }>('inspect', '--tls-verify=false', `docker://${registry}/copies/busybox:v1`)
    expect(info).toMatchObject({ Digest: digest, Architecture: 'amd64' })
  })

  test('pushes a stored two-platform index, every platform included', async () => {
    const root = await fresh()
    await (await ImageStore.open(root)).list() // creates the layout
    await run('skopeo', ['copy', '--all', '--src-tls-verify=false', `docker://${busybox}`, `oci:${root}:multi`])
    const r = await tsbuild(root, noAuth, 'push', 'multi', `${registry}/multi/busybox:v2`)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const index = await skopeoJson<{ manifests: Array<{ platform: { architecture: string } }> }>('inspect', '--tls-verify=false', '--raw', `docker://${registry}/multi/busybox:v2`)
    expect(index.manifests.map((m) => m.platform.architecture).sort()).toEqual(['amd64', 'arm64'])
  })

  test('an image that is not stored is one line naming it', async () => {
    const r = await tsbuild(await fresh(), noAuth, 'push', 'nosuch:v1')
    expect(r.code).toBe(1)
    expect(r.stderr.split('\n')[0]).toMatch(/^ERROR: image "nosuch:v1" not found in /)
  })
})

describe('tsbuild save', () => {
  test('an OCI archive holds every platform of a stored index', async () => {
    const root = await fresh()
    await (await ImageStore.open(root)).list()
    await run('skopeo', ['copy', '--all', '--src-tls-verify=false', `docker://${busybox}`, `oci:${root}:multi`])
    const out = join(root, 'multi.tar')
    expect((await tsbuild(root, noAuth, 'save', '--format', 'oci', '-o', out, 'multi')).code).toBe(0)
    for (const arch of ['amd64', 'arm64']) {
      const info = await skopeoJson<{ Architecture: string }>('inspect', '--override-arch', arch, `oci-archive:${out}:latest`)
      expect(info.Architecture).toBe(arch)
    }
  })

  test('a platform missing from the image lists what it has', async () => {
    const root = await fresh()
    expect((await tsbuild(root, noAuth, 'pull', '--platform', 'linux/arm64', busybox)).code).toBe(0)
    const r = await tsbuild(root, noAuth, 'save', '--platform', 'linux/amd64', '-o', join(root, 'x.tar'), busybox)
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(`ERROR: image ${busybox} has no manifest for linux/amd64; it has linux/arm64\n`)
  })

  test.runIf(isRoot)('a docker archive loads into podman and runs busybox', async () => {
    const root = await fresh()
    expect((await tsbuild(root, noAuth, 'pull', '--platform', 'linux/amd64', busybox)).code).toBe(0)
    const out = join(root, 'busybox.tar')
    const r = await tsbuild(root, noAuth, 'save', '--format', 'docker', '-o', out, busybox)
    expect(r.stderr).toBe('')
    // podman on this host: private storage (runroot path under 50 characters), cgroupfs, file events,
    // runc (crun fails here), and ulimits low enough that runc may set them.
    const storage = await mkdtemp('/tmp/tsp-')
    const podman = async (...args: string[]): Promise<string> => (await run('podman', [
      '--root', join(storage, 'root'), '--runroot', join(storage, 'runroot'), '--storage-driver', 'vfs',
      '--cgroup-manager=cgroupfs', '--events-backend=file', '--runtime', 'runc', ...args,
    ], { maxBuffer: 16 << 20 })).stdout
    try {
      await podman('load', '-i', out)
      const ran = await podman('run', '--rm', '--network=none', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024', busybox, 'busybox', 'echo', 'ok')
      expect(ran).toBe('ok\n')
    } finally {
      await podman('rmi', '--all', '--force').catch(() => {})
      await rm(storage, { recursive: true, force: true }).catch(() => {})
    }
  })
})
