// buildx flags that CI tools pass: --pull, --iidfile, and the attestation
// flags (taken when they turn attestations off; SBOMs refused when asked for).
import { execFile } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, inject, test } from 'vitest'
import { buildOk, ensureBuilt, freshDir, runTsbuild, writeContext } from '../helpers/tsbuild.js'

const execFileP = promisify(execFile)

let busybox: string
let registry: string
beforeAll(async () => {
  busybox = inject('busybox')
  registry = inject('registry')
  await ensureBuilt()
})

describe('buildx flags for CI', () => {
  test('--pull resolves a tag at the registry even when the local store has an image under that name', async () => {
    const base = `${registry}/pull-${Date.now()}:latest`
    const marker = async (text: string) => await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN echo ${text} > /marker\n` })
    // The registry's image says "remote"; the local store has another one under the same name.
    await buildOk(['build', '--progress=plain', '--push', '-t', base, await marker('remote')], { root: await freshDir('tsb-root-') })
    const root = await freshDir('tsb-root-')
    await buildOk(['build', '--progress=plain', '-t', base, await marker('local')], { root })
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${base}\nRUN cat /marker\n` })
    const plain = await buildOk(['build', '--progress=plain', ctx], { root })
    expect(plain.stderr).toMatch(/^#\d+ [\d.]+ local$/m)
    const pulled = await buildOk(['build', '--progress=plain', '--pull', ctx], { root })
    expect(pulled.stderr).toMatch(/^#\d+ [\d.]+ remote$/m)
  })

  test('--iidfile gets the image ID: the config digest of a one-platform image, the index digest of several', async () => {
    const root = await freshDir('tsb-root-')
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nLABEL x=1\n` })
    const out = await freshDir('tsb-out-')
    await buildOk(['build', '--progress=plain', '-t', 'one', '--iidfile', join(out, 'one.txt'), '--metadata-file', join(out, 'one.json'), ctx], { root })
    const one = JSON.parse(await readFile(join(out, 'one.json'), 'utf8')) as Record<string, string>
    expect(await readFile(join(out, 'one.txt'), 'utf8')).toBe(one['containerimage.config.digest'])
    await buildOk(['build', '--progress=plain', '-t', 'two', '--platform', 'linux/amd64,linux/arm64', '--iidfile', join(out, 'two.txt'), '--metadata-file', join(out, 'two.json'), ctx], { root })
    const two = JSON.parse(await readFile(join(out, 'two.json'), 'utf8')) as Record<string, string>
    expect(await readFile(join(out, 'two.txt'), 'utf8')).toBe(two['containerimage.digest'])
  })

  test('--iidfile: a failed build leaves no stale ID, and a place that cannot take the file fails before any step runs', async () => {
    const root = await freshDir('tsb-root-')
    const out = await freshDir('tsb-out-')
    await writeFile(join(out, 'iid'), 'old')
    const failing = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN false\n` })
    expect((await runTsbuild(['build', '--progress=plain', '--iidfile', join(out, 'iid'), failing], { root })).code).toBe(1)
    await expect(readFile(join(out, 'iid'), 'utf8')).rejects.toThrow(/ENOENT/)
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN echo MUST-NOT-RUN\n` })
    const r = await runTsbuild(['build', '--progress=plain', '--iidfile', '/proc/tsbuild-iid', ctx], { root })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^ERROR: --iidfile .*\/proc\/tsbuild-iid/m)
    expect(r.stderr).not.toContain('MUST-NOT-RUN')
    const slash = await runTsbuild(['build', '--progress=plain', '--iidfile', join(out, 'dir/'), ctx], { root })
    expect(slash.code).toBe(1)
    expect(slash.stderr).toMatch(/^ERROR: --iidfile .*dir: names a directory \(it ends in \/\), expected a file path/m)
    // As buildx: a build that made no image still writes the file, empty.
    const plain = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\n` })
    await buildOk(['build', '--progress=plain', '--iidfile', join(out, 'none'), plain], { root })
    expect(await readFile(join(out, 'none'), 'utf8')).toBe('')
  })

  test.each([
    [['--provenance=false', '--sbom=false']],
    [['--provenance=0', '--attest', 'type=provenance,disabled=true', '--builder', 'ci-builder']],
    [['--provenance', 'false', '--sbom', 'false']],
  ])('%j is taken: no attestation is asked for', async (flags) => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\n` })
    await buildOk(['build', '--progress=plain', ...flags, ctx], { root: await freshDir('tsb-root-') })
  })

  test.each([
    [['--provenance=mode=maximal'], /--provenance=mode=maximal: invalid mode "maximal": expected min or max/],
    [['--sbom=true'], /--sbom=true: tsbuild makes no SBOM attestations/],
    [['--attest', 'type=sbom'], /--attest type=sbom: tsbuild makes no SBOM attestations/],
    [['--attest', 'type=foo,disabled=true'], /--attest type=foo,disabled=true: unknown attestation type "foo": expected provenance or sbom/],
    [['--annotation', 'index:org.opencontainers.image.title=x', '-t', 'one-platform'], /annotation index:org.opencontainers.image.title cannot be written to the type=image output: only a multi-platform image, or one with attestations, has an index/],
    [['--annotation', 'index-descriptor:a=b', '-o', 'type=registry,name=127.0.0.1:1/x'], /only type=oci and type=docker write an index descriptor/],
    [['--annotation', 'manfest:a=b'], /invalid annotation "manfest:a=b": unknown annotation type "manfest"/],
    [['--annotation', 'novalue'], /invalid annotation "novalue": expected KEY=VALUE/],
    [['-o', 'type=local,dest=out,annotation.a=b'], /type=local writes files, not an image, so it takes no annotations/],
    [['--annotation', 'a=b', '-o', 'type=local,dest=out'], /--annotation needs an image output to write it on/],
    [['--annotation', 'index:a=b', '-o', 'type=docker,dest=d.tar'], /annotation index:a cannot be written to the type=docker output: only a multi-platform image, or one with attestations, has an index/],
  ])('%j is a usage error before anything runs', async (flags, message) => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN echo MUST-NOT-RUN\n` })
    const r = await runTsbuild(['build', '--progress=plain', ...flags, ctx], { root: await freshDir('tsb-root-') })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(message)
    expect(r.stderr).not.toContain('MUST-NOT-RUN')
  })
})

describe('--annotation', () => {
  test('puts annotations on the manifests, the index, its descriptors and the layout entry, per platform where asked', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN echo hi > /hi\n` })
    const layout = join(await freshDir('tsb-oci-'), 'layout')
    await buildOk(['build', '--progress=plain', '--platform', 'linux/amd64,linux/arm64',
      '--annotation', 'org.opencontainers.image.title=Demo',
      '--annotation', 'index,manifest-descriptor:org.opencontainers.image.vendor=Acme',
      '--annotation', 'manifest[linux/arm64]:org.opencontainers.image.url=https://example.com/arm64',
      '--annotation', 'index-descriptor:com.example.note=entry',
      '-o', `type=oci,tar=false,dest=${layout},annotation.com.example.CaseKept=yes`, ctx], { root: await freshDir('tsb-root-') })
    const blob = async <T>(digest: string): Promise<T> => JSON.parse(await readFile(join(layout, 'blobs/sha256', digest.slice('sha256:'.length)), 'utf8')) as T
    type Desc = { digest: string; annotations?: Record<string, string>; platform?: { architecture: string } }
    const top = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: Desc[] }
    expect(top.manifests[0]!.annotations).toEqual({ 'com.example.note': 'entry' })
    const index = await blob<{ manifests: Desc[]; annotations?: Record<string, string> }>(top.manifests[0]!.digest)
    expect(index.annotations).toEqual({ 'org.opencontainers.image.vendor': 'Acme' })
    for (const d of index.manifests) {
      expect(d.annotations).toEqual({ 'org.opencontainers.image.vendor': 'Acme' })
      const manifest = await blob<{ annotations?: Record<string, string> }>(d.digest)
      expect(manifest.annotations).toEqual({
        'com.example.CaseKept': 'yes',
        'org.opencontainers.image.title': 'Demo',
        ...(d.platform!.architecture === 'arm64' ? { 'org.opencontainers.image.url': 'https://example.com/arm64' } : {}),
      })
    }
  })
  test('type=docker takes manifest and index-descriptor annotations, as BuildKit\'s docker exporter does: on the OCI manifest and the index.json entry of the archive', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN echo hi > /hi\n` })
    const dir = await freshDir('tsb-docker-')
    const archive = join(dir, 'd.tar')
    await buildOk(['build', '--progress=plain', '-t', 'annotated:1', '--annotation', 'org.opencontainers.image.title=Demo',
      '--annotation', 'index-descriptor:com.example.note=entry', '-o', `type=docker,dest=${archive}`, ctx], { root: await freshDir('tsb-root-') })
    await execFileP('tar', ['-xf', archive, '-C', dir])
    const top = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; annotations: Record<string, string> }> }
    expect(top.manifests[0]!.annotations).toMatchObject({ 'com.example.note': 'entry', 'io.containerd.image.name': 'docker.io/library/annotated:1' })
    const manifest = JSON.parse(await readFile(join(dir, 'blobs/sha256', top.manifests[0]!.digest.slice('sha256:'.length)), 'utf8')) as { annotations?: Record<string, string> }
    expect(manifest.annotations).toEqual({ 'org.opencontainers.image.title': 'Demo' })
  })
})

describe('a push without a name', () => {
  test.each([[['--push']], [['-o', 'type=registry']], [['-o', 'type=image,push=true']]])('%j fails before any step runs', async (flags) => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN echo MUST-NOT-RUN\n` })
    const r = await runTsbuild(['build', '--progress=plain', ...flags, ctx], { root: await freshDir('tsb-root-') })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('ERROR: pushing to a registry needs an image name')
    expect(r.stderr).not.toContain('MUST-NOT-RUN')
  })
})
