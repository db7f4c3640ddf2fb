import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { expect, inject, test } from 'vitest'

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
