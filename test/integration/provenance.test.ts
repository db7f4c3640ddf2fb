// SLSA provenance attestations (--provenance, --attest type=provenance), stored
// as BuildKit's attestation storage lays them out; skopeo reads the indexes.
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, inject, test } from 'vitest'
import type { Descriptor, ImageIndex, ImageManifest } from '../../src/common/oci.js'
import { buildOk, ensureBuilt, freshDir, writeContext } from '../helpers/tsbuild.js'
import { skopeo } from '../setup/registry.js'

let busybox: string
let registry: string
beforeAll(async () => {
  busybox = inject('busybox')
  registry = inject('registry')
  await ensureBuilt()
})

interface Statement {
  _type: string
  predicateType: string
  subject: Array<{ name: string; digest: { sha256: string } }>
  predicate: Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** An OCI archive unpacked, with its blobs readable by digest. */
async function unpackArchive (tar: string): Promise<{ blob: <T>(d: string) => Promise<T>; raw: (d: string) => Promise<Buffer>; index: ImageIndex }> {
  const dir = await freshDir('tsb-oci-')
  await promisify(execFile)('tar', ['-xf', tar, '-C', dir])
  const raw = async (d: string): Promise<Buffer> => await readFile(join(dir, 'blobs', 'sha256', d.slice('sha256:'.length)))
  return { raw, blob: async <T>(d: string) => JSON.parse((await raw(d)).toString('utf8')) as T, index: JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as ImageIndex }
}

function attestationEntries (index: ImageIndex): Descriptor[] {
  return index.manifests.filter((m) => m.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest')
}

describe('provenance attestations', () => {
  test('--provenance mode=max to an OCI archive: one attestation manifest per image, build args recorded, secret values never', async () => {
    const secret = `s3cr3t-${Date.now()}`
    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: `FROM ${busybox}\nARG GREETING\nRUN --mount=type=secret,id=token test -s /run/secrets/token && echo "$GREETING" > /greeting\n`,
    })
    const out = join(await freshDir('tsb-out-'), 'image.tar')
    const iid = join(await freshDir('tsb-out-'), 'iid')
    await buildOk(['build', '--progress=plain', '--provenance', 'mode=max,builder-id=https://ci.example/run/7', '--build-arg', 'GREETING=hello-arg', '--secret', 'id=token,env=TOKEN',
      '-t', 'app:1', '-o', `type=oci,dest=${out}`, '--iidfile', iid, ctx], { root: await freshDir('tsb-root-'), env: { TOKEN: secret } })

    // skopeo sees an index even for one platform: the image, then its attestation.
    const index = JSON.parse(await skopeo('inspect', '--raw', `oci-archive:${out}`)) as ImageIndex
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json')
    expect(index.manifests).toHaveLength(2)
    // An index has no config digest: the image ID is the index's, as buildx writes it.
    expect(await readFile(iid, 'utf8')).toBe(`sha256:${createHash('sha256').update(await skopeo('inspect', '--raw', `oci-archive:${out}`)).digest('hex')}`)
    const [image, att] = index.manifests as [Descriptor, Descriptor]
    expect(image.platform).toMatchObject({ os: 'linux', architecture: 'amd64' })
    expect(att.platform).toEqual({ os: 'unknown', architecture: 'unknown' })
    expect(att.mediaType).toBe('application/vnd.oci.image.manifest.v1+json')
    expect(att.annotations).toEqual({ 'vnd.docker.reference.digest': image.digest, 'vnd.docker.reference.type': 'attestation-manifest' })

    const archive = await unpackArchive(out)
    const manifest = await archive.blob<ImageManifest>(att.digest)
    expect(manifest.config.mediaType).toBe('application/vnd.oci.image.config.v1+json')
    expect(await archive.blob(manifest.config.digest)).toMatchObject({ architecture: 'unknown', os: 'unknown', rootfs: { type: 'layers', diff_ids: [manifest.layers[0]!.digest] } })
    expect(manifest.layers).toHaveLength(1)
    expect(manifest.layers[0]).toMatchObject({ mediaType: 'application/vnd.in-toto+json', annotations: { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v0.2' } })
    const st = await archive.blob<Statement>(manifest.layers[0]!.digest)
    expect(st._type).toBe('https://in-toto.io/Statement/v0.1')
    expect(st.predicateType).toBe('https://slsa.dev/provenance/v0.2')
    expect(st.subject).toEqual([{ name: 'pkg:docker/app@1?platform=linux%2Famd64', digest: { sha256: image.digest.slice('sha256:'.length) } }])
    const p = st.predicate
    expect(p.builder).toEqual({ id: 'https://ci.example/run/7' })
    expect(p.buildType).toBe('https://mobyproject.org/buildkit@v1')
    expect(p.invocation.configSource).toEqual({ entryPoint: 'Dockerfile' })
    expect(p.invocation.parameters).toMatchObject({ frontend: 'dockerfile.v0', args: { 'build-arg:GREETING': 'hello-arg' }, secrets: [{ id: 'token' }], locals: [{ name: 'context' }, { name: 'dockerfile' }] })
    expect(p.materials).toHaveLength(1)
    expect(p.materials[0].uri).toMatch(/^pkg:docker\/.*busybox@latest\?platform=linux%2Famd64$/)
    expect(p.materials[0].digest.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(p.metadata).toMatchObject({ completeness: { parameters: true, environment: true, materials: false }, reproducible: false })
    expect(p.metadata.buildInvocationID).toMatch(/^[0-9a-z]{25}$/)
    expect(Date.parse(p.metadata.buildStartedOn)).toBeLessThanOrEqual(Date.parse(p.metadata.buildFinishedOn))
    const source = p.metadata['https://mobyproject.org/buildkit@v1#metadata'].source.infos[0]
    expect(Buffer.from(source.data, 'base64').toString('utf8')).toContain('ARG GREETING')
    // Not in the statement, not anywhere in the archive.
    expect((await readFile(out)).includes(secret)).toBe(false)
  })

  test('mode=min pushed for two platforms: four index entries, each attestation names its image; build-arg values left out', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nARG V\nCOPY hello /hello\n`, hello: 'hi\n' })
    const ref = `${registry}/prov-${Date.now()}:v1`
    await buildOk(['build', '--progress=plain', '--attest', 'type=provenance,mode=min', '--build-arg', 'V=hidden-value', '--platform', 'linux/amd64,linux/arm64', '--push', '-t', ref, ctx], { root: await freshDir('tsb-root-') })
    const index = JSON.parse(await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${ref}`)) as ImageIndex
    expect(index.manifests.map((m) => `${m.platform?.os}/${m.platform?.architecture}`)).toEqual(['linux/amd64', 'linux/arm64', 'unknown/unknown', 'unknown/unknown'])
    const atts = attestationEntries(index)
    expect(atts.map((a) => a.annotations?.['vnd.docker.reference.digest'])).toEqual(index.manifests.slice(0, 2).map((m) => m.digest))
    const repo = ref.slice(registry.length + 1, ref.lastIndexOf(':'))
    for (const [i, att] of atts.entries()) {
      const manifest = JSON.parse(await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${registry}/${repo}@${att.digest}`)) as ImageManifest
      const res = await fetch(`http://${registry}/v2/${repo}/blobs/${manifest.layers[0]!.digest}`)
      const text = await res.text()
      expect(text).not.toContain('hidden-value')
      const st = JSON.parse(text) as Statement
      const arch = i === 0 ? 'amd64' : 'arm64'
      expect(st.subject).toEqual([{ name: `pkg:docker/${registry}/${repo}@v1?platform=linux%2F${arch}`, digest: { sha256: index.manifests[i]!.digest.slice('sha256:'.length) } }])
      expect(st.predicate.materials[0].uri).toContain(`platform=linux%2F${arch}`)
      expect(st.predicate.invocation.parameters.args).toBeUndefined()
      expect(st.predicate.invocation.parameters.secrets).toBeUndefined()
      expect(st.predicate.metadata.completeness.parameters).toBe(false)
      expect(st.predicate.metadata['https://mobyproject.org/buildkit@v1#metadata']).toEqual({})
    }
  })

  test('one platform with provenance is an index, so it takes index annotations (without provenance they are refused)', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nLABEL x=1\n` })
    const out = join(await freshDir('tsb-out-'), 'image.tar')
    await buildOk(['build', '--progress=plain', '--provenance=true', '--annotation', 'index:org.opencontainers.image.title=Demo', '-o', `type=oci,dest=${out}`, ctx], { root: await freshDir('tsb-root-') })
    const index = JSON.parse(await skopeo('inspect', '--raw', `oci-archive:${out}`)) as ImageIndex & { annotations?: Record<string, string> }
    expect(index.annotations).toEqual({ 'org.opencontainers.image.title': 'Demo' })
    expect(attestationEntries(index)).toHaveLength(1)
  })

  test.each([
    ['no flag', []],
    ['--provenance=false', ['--provenance=false']],
    ['--attest type=provenance,disabled=true', ['--attest', 'type=provenance,disabled=true']],
    ['inline-only=true (image outputs only, as docker/build-push-action passes it)', ['--provenance', 'mode=min,inline-only=true,builder-id=x']],
  ])('%s: a one-platform OCI archive keeps a plain manifest', async (_name, flags) => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nLABEL x=1\n` })
    const out = join(await freshDir('tsb-out-'), 'image.tar')
    await buildOk(['build', '--progress=plain', ...flags, '-o', `type=oci,dest=${out}`, ctx], { root: await freshDir('tsb-root-') })
    const raw = JSON.parse(await skopeo('inspect', '--raw', `oci-archive:${out}`)) as ImageManifest
    expect(raw.mediaType).toBe('application/vnd.oci.image.manifest.v1+json')
  })

  test('type=local writes provenance.json beside the files, its subjects the files it wrote', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: 'FROM scratch\nCOPY a.txt /dir/a.txt\n', 'a.txt': 'alpha\n' })
    const dest = await freshDir('tsb-local-')
    await buildOk(['build', '--progress=plain', '--provenance=true', '-o', `type=local,dest=${dest}`, ctx], { root: await freshDir('tsb-root-'), env: { SOURCE_DATE_EPOCH: '1700000000' } })
    const st = JSON.parse(await readFile(join(dest, 'provenance.json'), 'utf8')) as Statement
    expect(st.subject).toEqual([{ name: 'dir/a.txt', digest: { sha256: createHash('sha256').update('alpha\n').digest('hex') } }])
    // mode=min (the default) leaves the build args out, SOURCE_DATE_EPOCH among them.
    expect(st.predicate.invocation.parameters.args).toBeUndefined()
    expect(st.predicate.metadata.completeness.parameters).toBe(false)
    const s = await stat(join(dest, 'provenance.json'))
    expect(s.mode & 0o777).toBe(0o600)
    expect(s.mtimeMs).toBe(1700000000 * 1000)
  })
})
