import { execFile } from 'node:child_process'
import { mkdtemp, readFile, readdir, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { promisify } from 'node:util'
import { pack } from 'tar-stream'
import { beforeAll, describe, expect, test } from 'vitest'
import { ImageStore, LocalContentStore } from '../../src/cache/index.js'
import { reportError } from '../../src/cli/report.js'
import type { CommandIo } from '../../src/cli/io.js'
import { MediaType } from '../../src/common/oci.js'
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest } from '../../src/common/oci.js'

const run = promisify(execFile)

/** An uncompressed layer tar of every regular file in `dir`. */
async function layerTar (dir: string): Promise<Buffer> {
  const p = pack()
  const chunks: Buffer[] = []
  p.on('data', (c: unknown) => chunks.push(c as Buffer))
  const done = new Promise<void>((resolve, reject) => { p.on('end', () => resolve()); p.on('error', reject) })
  for (const name of (await readdir(dir)).sort()) {
    const body = await readFile(join(dir, name))
    const mode = (await stat(join(dir, name))).mode & 0o777
    p.entry({ name, size: body.length, mode, mtime: new Date(0), uid: 0, gid: 0 }, body)
  }
  p.finalize()
  await done
  return Buffer.concat(chunks)
}

async function putJson (content: LocalContentStore, mediaType: string, value: unknown): Promise<Descriptor> {
  return { mediaType, ...(await content.writeBytes(JSON.stringify(value))) }
}

/** Writes a two-platform image (one layer, config and manifest per platform, an index) into the store. */
async function seedTwoPlatformImage (root: string): Promise<{ index: Descriptor; manifests: Descriptor[] }> {
  const content = new LocalContentStore(root)
  const src = await mkdtemp(join(tmpdir(), 'tsbuild-layer-src-'))
  await writeFile(join(src, 'hello.txt'), 'hello from tsbuild\n')
  await writeFile(join(src, 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 })
  const layer = { mediaType: MediaType.ociLayer, ...(await content.writeBytes(await layerTar(src))) }
  const manifests: Descriptor[] = []
  for (const architecture of ['amd64', 'arm64']) {
    const config: ImageConfig = {
      architecture, os: 'linux', created: '2024-01-01T00:00:00Z',
      config: { Env: ['PATH=/usr/bin:/bin'], Cmd: ['/run.sh'] },
      rootfs: { type: 'layers', diff_ids: [layer.digest] },
      history: [{ created: '2024-01-01T00:00:00Z', created_by: 'COPY . /' }],
    }
    const configDesc = await putJson(content, MediaType.ociConfig, config)
    const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDesc, layers: [layer] }
    manifests.push({ ...(await putJson(content, MediaType.ociManifest, manifest)), platform: { os: 'linux', architecture } })
  }
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests }
  const indexDesc = await putJson(content, MediaType.ociIndex, index)
  await (await ImageStore.open(root)).put('app', indexDesc)
  return { index: indexDesc, manifests }
}

function capture (root: string): { io: CommandIo; out: () => string; err: () => string } {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let o = ''
  let e = ''
  stdout.on('data', (c: Buffer) => { o += c.toString() })
  stderr.on('data', (c: Buffer) => { e += c.toString() })
  return { io: { stdin: new PassThrough(), stdout, stderr, env: { TSBUILD_ROOT: root }, cwd: root }, out: () => o, err: () => e }
}

// main() picks the command with `import(\`./commands/${name}.js\`)`, which Vite
// (and so Vitest) cannot map onto the .ts sources; until main.ts uses a static
// table of imports, dispatch the same way here, including main's error report.
const COMMANDS = {
  images: async () => await import('../../src/cli/commands/images.js'),
  inspect: async () => await import('../../src/cli/commands/inspect.js'),
  rmi: async () => await import('../../src/cli/commands/rmi.js'),
  tag: async () => await import('../../src/cli/commands/tag.js'),
} as const

async function tsbuild (root: string, command: keyof typeof COMMANDS, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const c = capture(root)
  let code: number
  try {
    code = await (await COMMANDS[command]()).run(args, c.io)
  } catch (err) {
    code = reportError(err, c.io)
  }
  return { code, out: c.out(), err: c.err() }
}

describe('local image store through the CLI and skopeo', () => {
  let root: string
  let seeded: { index: Descriptor; manifests: Descriptor[] }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'tsbuild-root-'))
    seeded = await seedTwoPlatformImage(root)
  })

  test('tsbuild images lists name, short digest, platforms and size', async () => {
    const r = await tsbuild(root, 'images')
    expect(r.code).toBe(0)
    const lines = r.out.trim().split('\n')
    expect(lines[0]).toMatch(/^NAME\s+DIGEST\s+PLATFORMS\s+SIZE$/)
    expect(lines[1]).toMatch(new RegExp(`^app:latest\\s+${seeded.index.digest.slice(7, 19)}\\s+linux/amd64,linux/arm64\\s+\\d`))
    const json = JSON.parse((await tsbuild(root, 'images', '--format', 'json')).out) as Array<{ name: string; size: number }>
    expect(json).toEqual([expect.objectContaining({ name: 'docker.io/library/app:latest', platforms: ['linux/amd64', 'linux/arm64'] })])
    expect(json[0]!.size).toBeGreaterThan(seeded.index.size)
  })

  test('tsbuild inspect prints manifest and config, narrowed by --platform', async () => {
    const all = JSON.parse((await tsbuild(root, 'inspect', 'app')).out) as { images: Array<{ platform: string }> }
    expect(all.images.map((i) => i.platform)).toEqual(['linux/amd64', 'linux/arm64'])
    const r = await tsbuild(root, 'inspect', 'docker.io/library/app:latest', '--platform', 'linux/arm64')
    expect(r.code).toBe(0)
    const one = JSON.parse(r.out) as { images: Array<{ descriptor: Descriptor; config: ImageConfig }> }
    expect(one.images).toHaveLength(1)
    expect(one.images[0]!.descriptor.digest).toBe(seeded.manifests[1]!.digest)
    expect(one.images[0]!.config).toMatchObject({ architecture: 'arm64', config: { Cmd: ['/run.sh'] } })
    const missing = await tsbuild(root, 'inspect', 'app', '--platform=linux/s390x')
    expect(missing.code).toBe(1)
    expect(missing.err).toContain('linux/s390x')
  })

  test('skopeo reads the state dir as an OCI layout by the short name', async () => {
    const raw = JSON.parse((await run('skopeo', ['inspect', '--raw', `oci:${root}:app`])).stdout) as ImageIndex
    expect(raw.manifests.map((m) => m.digest)).toEqual(seeded.manifests.map((m) => m.digest))
    const inspected = JSON.parse((await run('skopeo', ['inspect', `oci:${root}:app`])).stdout) as { Architecture: string; Layers: string[] }
    expect(inspected.Architecture).toBe('amd64')
    const dest = await mkdtemp(join(tmpdir(), 'tsbuild-copy-'))
    await run('skopeo', ['copy', '--all', '--preserve-digests', `oci:${root}:app`, `oci:${dest}:x`])
    const copied = JSON.parse(await readFile(join(dest, 'index.json'), 'utf8')) as ImageIndex
    expect(copied.manifests).toEqual([expect.objectContaining({ digest: seeded.index.digest, annotations: { 'org.opencontainers.image.ref.name': 'x' } })])
    // --preserve-digests: skopeo must copy every blob as stored, with no recompression.
    const copiedIndex = JSON.parse((await run('skopeo', ['inspect', '--raw', `oci:${dest}:x`])).stdout) as ImageIndex
    expect(copiedIndex.manifests.map((m) => m.digest)).toEqual(seeded.manifests.map((m) => m.digest))
  })

  test('tag adds a name skopeo can use; rmi removes names and reports unknown ones', async () => {
    expect((await tsbuild(root, 'tag', 'app', 'app:v2')).code).toBe(0)
    const viaTag = JSON.parse((await run('skopeo', ['inspect', '--raw', `oci:${root}:app:v2`])).stdout) as ImageIndex
    expect(viaTag.manifests).toHaveLength(2)

    const rmi = await tsbuild(root, 'rmi', 'app:v2', 'ghost:1')
    expect(rmi.code).toBe(1)
    expect(rmi.out).toContain(`Untagged: docker.io/library/app:v2@${seeded.index.digest}`)
    expect(rmi.err).toMatch(/image "ghost:1" not found/)
    expect((await tsbuild(root, 'images')).out).not.toContain('app:v2')
    await expect(run('skopeo', ['inspect', '--raw', `oci:${root}:app:v2`])).rejects.toThrow()
    expect((await tsbuild(root, 'inspect', 'app')).code).toBe(0) // blobs stay; the other name still works
  })

  test('usage errors exit 2', async () => {
    expect((await tsbuild(root, 'tag', 'only-one')).code).toBe(2)
    expect((await tsbuild(root, 'rmi')).code).toBe(2)
    expect((await tsbuild(root, 'images', '--bogus')).code).toBe(2)
  })
})
