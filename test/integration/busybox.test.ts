import { execFile } from 'node:child_process'
import { lstat, mkdtemp, readlink, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { expect, inject, test } from 'vitest'
import { ImageStore, LocalContentStore } from '../../src/cache/index.js'
import { openSnapshotter } from '../../src/cache/snapshots/index.js'
import { RegistryClient, anonymousCredentials } from '../../src/registry/index.js'
import { ImageSource, unpackImageLayers } from '../../src/solver/images/index.js'

const run = promisify(execFile)

test('the busybox base image in the loopback registry has linux/amd64 and linux/arm64', async () => {
  const ref = inject('busybox')
  expect(ref).toBe(`${inject('registry')}/busybox:latest`)
  const { stdout } = await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${ref}`])
  const index = JSON.parse(stdout) as { mediaType: string; manifests: Array<{ platform: { os: string; architecture: string } }> }
  expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json')
  expect(index.manifests.map((m) => `${m.platform.os}/${m.platform.architecture}`).sort()).toEqual(['linux/amd64', 'linux/arm64'])
})

test.each(['amd64', 'arm64'])('the %s image has a busybox binary for its architecture and sh on PATH', async (arch) => {
  const { stdout } = await run('skopeo', ['inspect', '--tls-verify=false', '--override-arch', arch, '--override-os', 'linux', `docker://${inject('busybox')}`])
  const info = JSON.parse(stdout) as { Architecture: string; Os: string; Layers: string[]; Env: string[] }
  expect(info).toMatchObject({ Architecture: arch, Os: 'linux' })
  expect(info.Layers).toHaveLength(1)
  expect(info.Env.some((e) => e.startsWith('PATH=') && e.includes('/bin'))).toBe(true)
})

test('ImageSource resolves both platforms from the registry, pulls them and unpacks each layer once', async () => {
  const root = await mkdtemp(join(tmpdir(), 'tsbuild-imagesource-it-'))
  try {
    const content = new LocalContentStore(root)
    const source = new ImageSource({ images: await ImageStore.open(root), content, registry: new RegistryClient({ auth: anonymousCredentials }) })
    const snapshotter = await openSnapshotter(root)
    const raw = JSON.parse((await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${inject('busybox')}`])).stdout) as { manifests: Array<{ digest: string; platform: { architecture: string } }> }
    for (const arch of ['amd64', 'arm64']) {
      const platform = { os: 'linux', architecture: arch }
      const meta = await source.resolveImageConfig(inject('busybox'), { platform })
      expect(meta.digest).toBe(raw.manifests.find((m) => m.platform.architecture === arch)!.digest)
      expect(meta.config.architecture).toBe(arch)
      const layers = await source.layers(inject('busybox'), platform)
      const names = await unpackImageLayers(layers, content, snapshotter)
      const again = await unpackImageLayers(layers, content, snapshotter)
      expect(again).toEqual(names)
      const info = await snapshotter.stat(names[0]!)
      expect((await lstat(join(info!.diffPath, 'bin', 'busybox'))).isFile()).toBe(true)
      expect(await readlink(join(info!.diffPath, 'bin', 'sh'))).toBe('/bin/busybox')
    }
  } finally {
    await rm(root, { recursive: true, force: true })
  }
})
