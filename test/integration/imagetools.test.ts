// `tsbuild imagetools create|inspect` as the last job of a multi-runner CI
// workflow uses `docker buildx imagetools`: each platform was pushed by
// digest, and one job joins them under a tag. skopeo judges the result.
import { randomBytes } from 'node:crypto'
import { readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, inject, test } from 'vitest'
import { LocalContentStore } from '../../src/cache/content/index.js'
import type { Descriptor } from '../../src/common/oci.js'
import { RegistryClient, anonymousCredentials, staticCredentials } from '../../src/registry/index.js'
import { skopeo, writeTestImage } from '../setup/registry.js'
import { buildOk, ensureBuilt, freshDir, runTsbuild, writeContext, type TsbuildRun } from '../helpers/tsbuild.js'

interface Index { mediaType: string; manifests: Array<{ mediaType: string; digest: string; size: number; platform?: { os: string; architecture: string; variant?: string }; annotations?: Record<string, string> }>; annotations?: Record<string, string> }

let registry: string
let busybox: string
let repo: string
let root: string
const digests: Record<'amd64' | 'arm64', string> = { amd64: '', arm64: '' }

const tsbuild = async (args: string[], env: Record<string, string> = {}): Promise<TsbuildRun> =>
  await runTsbuild(args, { root, env: { DOCKER_CONFIG: join(root, 'no-docker-config'), ...env } })
const ok = async (args: string[], env: Record<string, string> = {}): Promise<TsbuildRun> =>
  await buildOk(args, { root, env: { DOCKER_CONFIG: join(root, 'no-docker-config'), ...env } })
const rawOf = async (ref: string): Promise<Index> => JSON.parse(await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${ref}`)) as Index
const platformsOf = (idx: Index): string[] => idx.manifests.map((m) => `${m.platform?.os}/${m.platform?.architecture}`)
const errorLines = (stderr: string): string[] => stderr.split('\n').filter((l) => l.startsWith('ERROR') || /^\s+at /.test(l))

beforeAll(async () => {
  registry = inject('registry')
  busybox = inject('busybox')
  await ensureBuilt()
  root = await freshDir('tsb-root-')
  repo = `${registry}/it/app-${Date.now()}`
  const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nARG TARGETARCH\nRUN echo $TARGETARCH > /arch\n` })
  for (const arch of ['amd64', 'arm64'] as const) {
    const meta = join(root, `${arch}.json`)
    await ok(['build', '--progress=plain', '--platform', `linux/${arch}`, '-o', `type=image,name=${repo},push-by-digest=true,name-canonical=true,push=true`, '--metadata-file', meta, ctx])
    digests[arch] = (JSON.parse(await readFile(meta, 'utf8')) as Record<string, string>)['containerimage.digest']!
  }
}, 300_000)

describe('imagetools create', () => {
  test('two platforms pushed by digest become one tagged index that skopeo copies whole', async () => {
    const r = await ok(['imagetools', 'create', '-t', `${repo}:1`, `${repo}@${digests.amd64}`, `${repo}@${digests.arm64}`])
    expect(r.stdout).toBe('')
    expect(r.stderr).toContain(`pushing sha256:`)
    const idx = await rawOf(`${repo}:1`)
    expect(idx.mediaType).toBe('application/vnd.oci.image.index.v1+json')
    expect(idx.manifests.map((m) => m.digest)).toEqual([digests.amd64, digests.arm64])
    expect(platformsOf(idx)).toEqual(['linux/amd64', 'linux/arm64'])

    const out = await freshDir('tsb-oci-')
    await skopeo('copy', '--all', '--src-tls-verify=false', `docker://${repo}:1`, `oci:${out}:v1`)
    const layout = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as Index
    const blobs = new Set(await readdir(join(out, 'blobs/sha256')))
    expect(blobs.has(layout.manifests[0]!.digest.slice(7))).toBe(true)
    for (const d of [digests.amd64, digests.arm64]) expect(blobs.has(d.slice(7))).toBe(true)
    const arm = JSON.parse(await skopeo('inspect', '--tls-verify=false', '--override-arch=arm64', `docker://${repo}:1`)) as { Architecture: string }
    expect(arm.Architecture).toBe('arm64')
  })

  test('--dry-run prints the index it would push and pushes nothing; --annotation lands in it', async () => {
    const r = await ok(['imagetools', 'create', '--dry-run', '-t', `${repo}:dry`, '--annotation', 'index:org.opencontainers.image.version=1.2.3',
      '--annotation', 'manifest-descriptor[linux/arm64]:note=arm', `${repo}@${digests.amd64}`, `${repo}@${digests.arm64}`])
    const idx = JSON.parse(r.stdout) as Index
    expect(r.stdout).toMatch(/^\{\n {2}"schemaVersion": 2,/)
    expect(idx.annotations).toEqual({ 'org.opencontainers.image.version': '1.2.3' })
    expect(idx.manifests.map((m) => m.annotations)).toEqual([undefined, { note: 'arm' }])
    const missing = await runTsbuild(['imagetools', 'inspect', `${repo}:dry`], { root })
    expect(missing.code).toBe(1)
  })

  test('--append adds a platform to the manifests the tag already has', async () => {
    await ok(['imagetools', 'create', '-t', `${repo}:appended`, `${repo}@${digests.amd64}`])
    expect(platformsOf(await rawOf(`${repo}:appended`))).toEqual(['linux/amd64'])
    await ok(['imagetools', 'create', '--append', '-t', `${repo}:appended`, `${repo}@${digests.arm64}`])
    const idx = await rawOf(`${repo}:appended`)
    expect(idx.manifests.map((m) => m.digest)).toEqual([digests.amd64, digests.arm64])
  })

  test('--prefer-index=false copies one manifest source as it is: the tag names that manifest', async () => {
    await ok(['imagetools', 'create', '--prefer-index=false', '-t', `${repo}:single`, `${repo}@${digests.arm64}`])
    const r = await ok(['imagetools', 'inspect', `${repo}:single`])
    expect(r.stdout).toBe(`Name:      ${repo}:single\nMediaType: application/vnd.oci.image.manifest.v1+json\nDigest:    ${digests.arm64}\n`)
  })

  test('a second manifest for a platform the index has is refused, naming both', async () => {
    await ok(['imagetools', 'create', '-t', `${repo}:dup`, `${repo}@${digests.amd64}`])
    const r = await tsbuild(['imagetools', 'create', '--append', '-t', `${repo}:dup`, busybox])
    expect(r.code).toBe(1)
    expect(errorLines(r.stderr)).toHaveLength(1)
    expect(r.stderr).toMatch(/^ERROR: two different manifests for platform linux\/amd64: sha256:\S+ from \S+ and sha256:\S+ from \S+$/m)
    expect(platformsOf(await rawOf(`${repo}:dup`))).toEqual(['linux/amd64'])
  })

  test('sources in another repository are copied into the target (mounted), then skopeo copies the index whole', async () => {
    const other = `${registry}/it/other-${Date.now()}`
    const r = await ok(['imagetools', 'create', '-t', `${other}:1`, `${repo}@${digests.amd64}`, `${repo}@${digests.arm64}`])
    expect(r.stderr).toContain(`copying ${digests.amd64} from ${repo}@${digests.amd64} to ${other}:1`)
    // each image's busybox layer, RUN layer and config: mounted, none uploaded
    expect(r.stderr.match(/^copied 1 manifest: 3 blobs mounted, 0 uploaded, 0 already there$/gm)).toHaveLength(2)
    expect((await rawOf(`${other}:1`)).manifests.map((m) => m.digest)).toEqual([digests.amd64, digests.arm64])
    const out = await freshDir('tsb-oci-')
    await skopeo('copy', '--all', '--src-tls-verify=false', `docker://${other}:1`, `oci:${out}:v1`)
  })

  test('-f reads a descriptor from a file; its bare digest is looked up in the one repository named', async () => {
    const descFile = join(root, 'arm-desc.json')
    const armSize = Buffer.byteLength(await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${repo}@${digests.arm64}`))
    await writeFile(descFile, JSON.stringify({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digests.arm64, size: armSize }))
    await ok(['imagetools', 'create', '-t', `${repo}:file`, '-f', descFile, digests.amd64])
    const idx = await rawOf(`${repo}:file`)
    expect(idx.manifests.map((m) => m.digest)).toEqual([digests.arm64, digests.amd64])
    expect(platformsOf(idx)).toEqual(['linux/arm64', 'linux/amd64'])
  })

  test('into another registry (with credentials): blobs stream across; one index source keeps its digest', async () => {
    const auth = inject('authRegistry')
    const dockerConfig = await freshDir('tsb-docker-')
    await writeFile(join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [auth.host]: { auth: Buffer.from(`${auth.username}:${auth.password}`).toString('base64') } } }))
    const target = `${auth.host}/it/copy-${Date.now()}:1`
    const r = await ok(['imagetools', 'create', '-t', target, `${repo}:1`], { DOCKER_CONFIG: dockerConfig })
    expect(r.stderr).toMatch(/^copied 3 manifests: 0 blobs mounted, 6 uploaded, 0 already there$/m)
    const creds = `--creds=${auth.username}:${auth.password}`
    const there = await skopeo('inspect', '--raw', '--tls-verify=false', creds, `docker://${target}`)
    const here = await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${repo}:1`)
    expect(there).toBe(here)
    const out = await freshDir('tsb-oci-')
    await skopeo('copy', '--all', '--src-tls-verify=false', `--src-creds=${auth.username}:${auth.password}`, `docker://${target}`, `oci:${out}:v1`)

    const denied = await tsbuild(['imagetools', 'create', '-t', `${auth.host}/it/denied:1`, `${repo}:1`])
    expect(denied.code).toBe(1)
    expect(errorLines(denied.stderr)).toHaveLength(1)
    expect(denied.stderr).toMatch(/^ERROR: .*127\.0\.0\.1/m)
  })

  test.each([
    ['a missing source', () => ['-t', `${repo}:x`, `${repo}@sha256:${'0'.repeat(64)}`], 1, /^ERROR: image .* not found/],
    ['a bad reference', () => ['-t', `${repo}:x`, `${repo}/UPPER:1`], 1, /^ERROR: invalid image reference/],
    ['no tag and no --dry-run', () => [`${repo}@${digests.amd64}`], 2, /^ERROR: imagetools create: cannot push with no tags/],
    ['no sources', () => ['-t', `${repo}:x`], 2, /^ERROR: imagetools create: no sources specified/],
  ])('%s: one ERROR line, no stack trace', async (_what, args, code, message) => {
    const r = await tsbuild(['imagetools', 'create', ...args()])
    expect(r.code).toBe(code)
    const errors = errorLines(r.stderr)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(message)
  })
})

describe('imagetools inspect', () => {
  test('the Name / MediaType / Digest header and the Manifests list buildx prints; --raw is the exact bytes', async () => {
    const raw = await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${repo}:1`)
    const r = await ok(['imagetools', 'inspect', `${repo}:1`])
    const { createHash } = await import('node:crypto')
    const digest = `sha256:${createHash('sha256').update(raw).digest('hex')}`
    expect(r.stdout).toBe([
      `Name:      ${repo}:1`,
      'MediaType: application/vnd.oci.image.index.v1+json',
      `Digest:    ${digest}`,
      '           ',
      'Manifests: ',
      `  Name:      ${repo}:1@${digests.amd64}`,
      '  MediaType: application/vnd.oci.image.manifest.v1+json',
      '  Platform:  linux/amd64',
      '             ',
      `  Name:      ${repo}:1@${digests.arm64}`,
      '  MediaType: application/vnd.oci.image.manifest.v1+json',
      '  Platform:  linux/arm64',
      '',
    ].join('\n'))
    expect((await ok(['imagetools', 'inspect', '--raw', `${repo}:1`])).stdout).toBe(raw)
    const json = JSON.parse((await ok(['imagetools', 'inspect', '--format', 'json', `${repo}:1`])).stdout) as { manifest: { digest: string }; image: Record<string, { architecture: string }> }
    expect(json.manifest.digest).toBe(digest)
    expect(Object.fromEntries(Object.entries(json.image).map(([k, v]) => [k, v.architecture]))).toEqual({ 'linux/amd64': 'amd64', 'linux/arm64': 'arm64' })
  })
})

describe('imagetools inspect --format with attestations', () => {
  interface Slsa { SLSA: { buildType: string; invocation: { parameters: { args?: Record<string, string> } } } }
  const inspectJson = async (format: string, ref: string): Promise<unknown> => {
    const r = await ok(['imagetools', 'inspect', '--format', format, ref])
    expect(r.stdout.endsWith('}\n')).toBe(true)
    return JSON.parse(r.stdout)
  }

  test('{{json .Provenance}} of a one-platform build is {"SLSA": predicate}; of two, keyed by platform; .SBOM is {} as tsbuild writes none', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nARG V\nCOPY f /f\n`, f: 'x' })
    const one = `${repo}-att:one`
    const two = `${repo}-att:two`
    await ok(['build', '--progress=plain', '--provenance', 'mode=max', '--build-arg', 'V=<v&>', '--platform', 'linux/amd64', '--push', '-t', one, ctx])
    await ok(['build', '--progress=plain', '--provenance', 'mode=max', '--platform', 'linux/amd64,linux/arm64', '--push', '-t', two, ctx])

    const single = await inspectJson('{{json .Provenance}}', one) as Slsa
    expect(Object.keys(single)).toEqual(['SLSA'])
    expect(single.SLSA.buildType).toBe('https://mobyproject.org/buildkit@v1')
    expect(single.SLSA.invocation.parameters.args).toMatchObject({ 'build-arg:V': '<v&>' })
    const raw = (await ok(['imagetools', 'inspect', '--format', '{{ json .Provenance }}', one])).stdout
    expect(raw).toContain('"build-arg:V": "\\u003cv\\u0026\\u003e"')
    expect(JSON.parse(raw)).toEqual(single)

    const multi = await inspectJson('{{ json .Provenance }}', two) as Record<string, Slsa>
    expect(Object.keys(multi)).toEqual(['linux/amd64', 'linux/arm64'])
    for (const p of Object.values(multi)) expect(p.SLSA.buildType).toBe('https://mobyproject.org/buildkit@v1')

    expect(await inspectJson('{{json .SBOM}}', one)).toEqual({})
    expect(await inspectJson('{{json .SBOM}}', two)).toEqual({})
  }, 300_000)

  test.each([
    ['an index of two platforms without attestations', () => `${repo}:1`],
    ['a single manifest', () => `${repo}@${digests.amd64}`],
  ])('%s: {{json .Provenance}} and {{json .SBOM}} print {}', async (_what, ref) => {
    await ok(['imagetools', 'create', '-t', `${repo}:1`, `${repo}@${digests.amd64}`, `${repo}@${digests.arm64}`])
    expect(await inspectJson('{{json .Provenance}}', ref())).toEqual({})
    expect(await inspectJson('{{json .SBOM}}', ref())).toEqual({})
  })

  test('another template is a usage error naming the ones tsbuild knows', async () => {
    const r = await tsbuild(['imagetools', 'inspect', '--format', '{{json .Image.Config}}', `${repo}@${digests.amd64}`])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^ERROR: --format "\{\{json \.Image\.Config\}\}" is not supported: .*\{\{json \.Provenance\}\}, \{\{json \.SBOM\}\}/m)
  })
})

describe('RegistryClient.copyImage', () => {
  test('a layer bigger than the upload chunk streams across registries in PATCH chunks, verified by skopeo', async () => {
    const auth = inject('authRegistry')
    const store = new LocalContentStore(await freshDir('tsb-store-'))
    const img = await writeTestImage(store, { platform: 'linux/amd64', files: { big: randomBytes(300 * 1024) } })
    const from = `${registry}/it/big-${Date.now()}`
    await new RegistryClient({ auth: anonymousCredentials }).pushImage(store, img.manifest as Descriptor, `${from}:1`)
    const to = `${auth.host}/it/big-${Date.now()}:1`
    const c = new RegistryClient({ auth: staticCredentials({ [auth.host]: { username: auth.username, password: auth.password } }), chunkSize: 64 * 1024 })
    const first = await c.copyImage(from, img.manifest as Descriptor, to)
    expect(first).toEqual({ manifests: 1, blobs: { exists: 0, mounted: 0, uploaded: 2 } })
    expect(await c.copyImage(from, img.manifest as Descriptor, to)).toEqual({ manifests: 0, blobs: { exists: 0, mounted: 0, uploaded: 0 } })
    const pinned = `docker://${to.replace(/:1$/, '')}@${img.manifest.digest}`
    const manifest = JSON.parse(await skopeo('inspect', '--raw', '--tls-verify=false', `--creds=${auth.username}:${auth.password}`, pinned)) as { layers: Array<{ digest: string }> }
    expect(manifest.layers.map((l) => l.digest)).toEqual(img.layerDigests)
    const out = await freshDir('tsb-oci-')
    await skopeo('copy', '--src-tls-verify=false', `--src-creds=${auth.username}:${auth.password}`, pinned, `oci:${out}:v1`)
  })
})
