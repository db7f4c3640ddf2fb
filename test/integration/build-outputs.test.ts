// tsbuild build outputs judged by real clients: a two-platform OCI index
// (skopeo), the local store, local/tar rootfs exports (whiteouts), a registry
// push, and a docker archive loaded and run by podman.
import { execFile } from 'node:child_process'
import { readFile, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { createPodman, type Podman } from '../helpers/podman.js'
import { buildOk, ensureBuilt, freshDir, runTsbuild, writeContext } from '../helpers/tsbuild.js'

const run = promisify(execFile)
const skopeo = async (...args: string[]): Promise<string> => (await run('skopeo', args, { maxBuffer: 16 << 20 })).stdout

interface Index { mediaType: string; manifests: Array<{ digest: string; platform?: { architecture: string; os: string }; annotations?: Record<string, string> }> }

let busybox: string
let registry: string
beforeAll(async () => {
  busybox = inject('busybox')
  registry = inject('registry')
  await ensureBuilt()
})

describe('a two-platform build', () => {
  // A fixed epoch makes both builds below byte-identical, so their digests can be compared.
  const EPOCH = ['--build-arg', 'SOURCE_DATE_EPOCH=1700000000']
  let root: string
  let ctx: string
  let out: string
  beforeAll(async () => {
    root = await freshDir('tsb-root-')
    out = await freshDir('tsb-out-')
    ctx = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: `FROM ${busybox}\nRUN uname -m > /arch\n`,
    })
    await buildOk(['build', '--platform', 'linux/amd64,linux/arm64', '-t', 'multi:v1', ...EPOCH,
      '-o', `type=oci,dest=${join(out, 'image.tar')}`, '-o', `type=local,dest=${join(out, 'rootfs')}`, ctx], { root })
  })

  test('runs each platform natively or under qemu: uname -m differs', async () => {
    expect(await readFile(join(out, 'rootfs/linux_amd64/arch'), 'utf8')).toBe('x86_64\n')
    expect(await readFile(join(out, 'rootfs/linux_arm64/arch'), 'utf8')).toBe('aarch64\n')
  })

  test('the OCI archive holds one index with both platforms', async () => {
    const index = JSON.parse(await skopeo('inspect', '--raw', `oci-archive:${join(out, 'image.tar')}`)) as Index
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json')
    expect(index.manifests.map((m) => `${m.platform?.os}/${m.platform?.architecture}`).sort()).toEqual(['linux/amd64', 'linux/arm64'])
    const arm = JSON.parse(await skopeo('inspect', '--override-arch', 'arm64', `oci-archive:${join(out, 'image.tar')}`)) as { Architecture: string; Layers: string[] }
    expect(arm.Architecture).toBe('arm64')
    expect(arm.Layers.length).toBe(2)
  })

  test('with only -t, the store tags the same index, readable by skopeo as an OCI layout', async () => {
    await buildOk(['build', '--platform', 'linux/amd64,linux/arm64', '-t', 'multi:v1', ...EPOCH, ctx], { root })
    const layout = JSON.parse(await readFile(join(root, 'index.json'), 'utf8')) as Index
    const tagged = layout.manifests.find((m) => Object.values(m.annotations ?? {}).some((v) => v.includes('multi')))
    expect(tagged, JSON.stringify(layout)).toBeDefined()
    const refName = tagged!.annotations!['org.opencontainers.image.ref.name']!
    const index = JSON.parse(await skopeo('inspect', '--raw', `oci:${root}:${refName}`)) as Index
    expect(index.manifests.map((m) => m.platform?.architecture).sort()).toEqual(['amd64', 'arm64'])
    const archived = JSON.parse(await skopeo('inspect', '--raw', `oci-archive:${join(out, 'image.tar')}`)) as Index
    expect(index.manifests.map((m) => m.digest).sort()).toEqual(archived.manifests.map((m) => m.digest).sort())
  })

  test('-o type=docker of two platforms is refused with one line pointing to type=oci', async () => {
    const dest = join(await freshDir('tsb-out-'), 'docker.tar')
    const r = await runTsbuild(['build', '--platform', 'linux/amd64,linux/arm64', ...EPOCH, '-o', `type=docker,dest=${dest}`, ctx], { root })
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toMatch(/^ERROR: type=docker holds one platform, got 2: use type=oci for a multi-platform image$/m)
  })

  test('-o type=tar of two platforms puts each in its own directory', async () => {
    const dest = join(await freshDir('tsb-out-'), 'fs.tar')
    await buildOk(['build', '--platform', 'linux/amd64,linux/arm64', ...EPOCH, '-o', `type=tar,dest=${dest}`, ctx], { root })
    const { stdout } = await run('tar', ['-xOf', dest, 'linux_amd64/arch', 'linux_arm64/arch'])
    expect(stdout).toBe('x86_64\naarch64\n')
  })

  test('--push sends the same index to the registry', async () => {
    const name = `${registry}/built/multi:v1`
    await buildOk(['build', '--platform', 'linux/amd64,linux/arm64', '--push', '-t', name, ...EPOCH, ctx], { root })
    const pushed = JSON.parse(await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${name}`)) as Index
    const archived = JSON.parse(await skopeo('inspect', '--raw', `oci-archive:${join(out, 'image.tar')}`)) as Index
    expect(pushed.manifests.map((m) => m.digest).sort()).toEqual(archived.manifests.map((m) => m.digest).sort())
  })
})

describe('rootfs exports', () => {
  let root: string
  let ctx: string
  beforeAll(async () => {
    root = await freshDir('tsb-root-')
    ctx = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: [
        `FROM ${busybox}`,
        'RUN mkdir -p /data/sub && echo keep > /data/keep && echo gone > /data/gone && echo x > /data/sub/x',
        'RUN rm /data/gone && rm -r /data/sub && rm /bin/vi',
        'COPY --chown=builder:wheel owned.txt /owned.txt',
        'COPY --link linked.txt /linked/linked.txt',
      ].join('\n'),
      'owned.txt': 'owned\n',
      'linked.txt': 'linked\n',
    })
  })

  test('-o type=local writes the filesystem with deleted files gone and --chown resolved in the image', async () => {
    const dest = join(await freshDir('tsb-out-'), 'fs')
    await buildOk(['build', '-o', `type=local,dest=${dest}`, ctx], { root })
    expect((await readdir(join(dest, 'data'))).sort()).toEqual(['keep'])
    await expect(stat(join(dest, 'bin/vi'))).rejects.toThrow(/ENOENT/)
    expect((await readdir(dest)).some((n) => n.startsWith('.wh.'))).toBe(false)
    expect((await readdir(join(dest, 'data'))).some((n) => n.startsWith('.wh.'))).toBe(false)
    const passwd = await readFile(join(dest, 'etc/passwd'), 'utf8')
    const group = await readFile(join(dest, 'etc/group'), 'utf8')
    const uid = Number(/^builder:[^:]*:(\d+):/m.exec(passwd)![1])
    const gid = Number(/^wheel:[^:]*:(\d+):/m.exec(group)![1])
    const owned = await stat(join(dest, 'owned.txt'))
    expect([owned.uid, owned.gid]).toEqual([uid, gid])
    expect(await readFile(join(dest, 'linked/linked.txt'), 'utf8')).toBe('linked\n')
  })

  test('-o type=tar writes the same filesystem as one tar', async () => {
    const dest = join(await freshDir('tsb-out-'), 'fs.tar')
    await buildOk(['build', '-o', `type=tar,dest=${dest}`, ctx], { root })
    const { stdout } = await run('tar', ['-tvf', dest], { maxBuffer: 16 << 20 })
    const names = stdout.split('\n').map((l) => l.split(/\s+/).slice(5).join(' ').replace(/^\.\//, '').replace(/ -> .*$/, ''))
    expect(names).toContain('data/keep')
    expect(names).toContain('linked/linked.txt')
    expect(names.filter((n) => n.startsWith('data/gone') || n.startsWith('data/sub') || n === 'bin/vi' || n.includes('.wh.'))).toEqual([])
  })
})

describe('images', () => {
  let podman: Podman | undefined
  afterAll(async () => { await podman?.close() })

  test('--push and -o type=registry put the image in the registry', async () => {
    const root = await freshDir('tsb-root-')
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN echo pushed > /pushed\n` })
    const pushed = `${registry}/built/pushed:v1`
    const viaOutput = `${registry}/built/output:v1`
    await buildOk(['build', '--push', '-t', pushed, ctx], { root })
    await buildOk(['build', '-o', `type=registry,name=${viaOutput}`, ctx], { root })
    const a = JSON.parse(await skopeo('inspect', '--tls-verify=false', `docker://${pushed}`)) as { Digest: string; Layers: string[]; Architecture: string }
    const b = JSON.parse(await skopeo('inspect', '--tls-verify=false', `docker://${viaOutput}`)) as { Digest: string; Layers: string[] }
    expect(a.Layers.length).toBe(2)
    expect(a.Architecture).toBe('amd64')
    expect(b.Layers).toEqual(a.Layers)
    // In BuildKit type=registry is type=image,push=true: the same build pushed any way is the same image.
    expect(b.Digest).toBe(a.Digest)
  })

  test('a -o type=docker export loads into podman and runs, printing what a RUN wrote', async () => {
    podman = await createPodman()
    const root = await freshDir('tsb-root-')
    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: `FROM ${busybox}\nRUN echo "written by RUN" > /msg\nRUN rm /bin/vi\nCMD ["sh", "-c", "cat /msg; test -e /bin/vi || echo vi-deleted"]\n`,
    })
    const dest = join(await freshDir('tsb-out-'), 'image.tar')
    await buildOk(['build', '-t', 'podrun:v1', '-o', `type=docker,dest=${dest}`, ctx], { root })
    const loaded = await podman('load', '-i', dest)
    expect(loaded).toContain('podrun:v1')
    // The whiteout for /bin/vi is honoured by podman's own layer unpacking. The archive's
    // index.json names it docker.io/library/podrun:v1 (as BuildKit's does); the short name finds it.
    expect(await podman.run('podrun:v1')).toBe('written by RUN\nvi-deleted\n')
  })

  test('FROM a locally built image uses the stored image', async () => {
    const root = await freshDir('tsb-root-')
    const base = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN echo from-base > /base\n` })
    await buildOk(['build', '-t', 'base', base], { root })
    const app = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: 'FROM base\nRUN cat /base > /copied\n' })
    const dest = join(await freshDir('tsb-out-'), 'fs')
    await buildOk(['build', '-o', `type=local,dest=${dest}`, app], { root })
    expect(await readFile(join(dest, 'copied'), 'utf8')).toBe('from-base\n')
  })
})
