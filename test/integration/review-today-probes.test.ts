// Probes of provenance attestations, imagetools and secret masking as a
// careless or hostile user would drive them from the CLI.
import { execFile } from 'node:child_process'
import { lstat, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, inject, test } from 'vitest'
import type { ImageIndex, ImageManifest } from '../../src/common/oci.js'
import { buildOk, ensureBuilt, freshDir, runTsbuild, spawnTsbuild, writeContext } from '../helpers/tsbuild.js'
import { skopeo, startProxy, startRegistry, writeUpstream } from '../setup/registry.js'

let busybox: string
let registry: string
beforeAll(async () => {
  busybox = inject('busybox')
  registry = inject('registry')
  await ensureBuilt()
})

const unique = (): string => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`

describe('provenance', () => {
  test('an attested two-platform image pulled back as a base: each platform takes its own image, never the attestation', async () => {
    const base = `${registry}/probe-base-${unique()}:1`
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN uname -m > /arch\n` })
    await buildOk(['build', '--progress=plain', '--provenance=true', '--platform', 'linux/amd64,linux/arm64', '--push', '-t', base, ctx], { root: await freshDir('tsb-root-') })
    const index = JSON.parse(await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${base}`)) as ImageIndex
    expect(index.manifests.map((m) => `${m.platform?.os}/${m.platform?.architecture}`)).toEqual(['linux/amd64', 'linux/arm64', 'unknown/unknown', 'unknown/unknown'])

    const child = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${base}\nRUN cat /arch\n` })
    const dest = await freshDir('tsb-out-')
    await buildOk(['build', '--progress=plain', '--platform', 'linux/amd64,linux/arm64', '-o', `type=local,dest=${dest}`, child], { root: await freshDir('tsb-root-') })
    expect((await readFile(join(dest, 'linux_amd64', 'arch'), 'utf8')).trim()).toBe('x86_64')
    expect((await readFile(join(dest, 'linux_arm64', 'arch'), 'utf8')).trim()).toBe('aarch64')

    // skopeo copy --all takes the attestations along.
    const copy = await freshDir('tsb-copy-')
    await skopeo('copy', '--all', '--src-tls-verify=false', `docker://${base}`, `oci:${copy}:x`)
    expect((JSON.parse(await readFile(join(copy, 'index.json'), 'utf8')) as ImageIndex).manifests).toHaveLength(1)
  }, 60_000)

  test('multi-platform type=local with provenance: one provenance.json per platform directory, naming that platform', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN echo hi > /f\n` })
    const dest = await freshDir('tsb-out-')
    await buildOk(['build', '--progress=plain', '--provenance=mode=max', '--platform', 'linux/amd64,linux/arm64', '-o', `type=local,dest=${dest}`, ctx], { root: await freshDir('tsb-root-') })
    expect((await readdir(dest)).sort()).toEqual(['linux_amd64', 'linux_arm64'])
    for (const arch of ['amd64', 'arm64']) {
      const st = JSON.parse(await readFile(join(dest, `linux_${arch}`, 'provenance.json'), 'utf8')) as { predicate: { materials?: Array<{ uri: string }> } }
      expect(st.predicate.materials?.[0]?.uri).toContain(`platform=linux%2F${arch}`)
    }
  }, 60_000)

  test('secrets, min-mode build args and URL credentials never reach the attestation', async () => {
    const secret = `tok-${unique()}-secret`
    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: `FROM ${busybox}\nARG HIDDEN\nENV FROM_ENV=visible\nRUN --mount=type=secret,id=s,env=S echo "$S" > /dev/null\n`,
    })
    const out = join(await freshDir('tsb-out-'), 'i.tar')
    await buildOk(['build', '--progress=plain', '--provenance=mode=min', '--secret', 'id=s,env=S', '--build-arg', 'HIDDEN=argvalue-hidden', '-o', `type=oci,dest=${out}`, ctx], { root: await freshDir('tsb-root-'), env: { S: secret } })
    // The image history keeps build args as BuildKit's does (RUN |1 HIDDEN=…); the attestation must not.
    expect((await readFile(out)).includes(secret)).toBe(false)
    const dir = await freshDir('tsb-x-')
    await promisify(execFile)('tar', ['-xf', out, '-C', dir])
    const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as ImageIndex
    const inner = JSON.parse(await readFile(join(dir, 'blobs', 'sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as ImageIndex
    const att = inner.manifests.find((m) => m.platform?.os === 'unknown')!
    const manifest = JSON.parse(await readFile(join(dir, 'blobs', 'sha256', att.digest.slice(7)), 'utf8')) as ImageManifest
    const statement = await readFile(join(dir, 'blobs', 'sha256', manifest.layers[0]!.digest.slice(7)), 'utf8')
    expect(statement).toContain('in-toto')
    expect(statement).not.toContain('argvalue-hidden')
    expect(statement).not.toContain(secret)
  }, 60_000)

  test('provenance.json written beside an output replaces a symlink of that name in the image, never the host file it points at', async () => {
    const victim = join(await freshDir('tsb-host-'), 'host-file')
    await writeFile(victim, 'precious\n')
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN ln -s ${victim} /provenance.json\n` })
    const dest = await freshDir('tsb-out-')
    await buildOk(['build', '--progress=plain', '--provenance=true', '-o', `type=local,dest=${dest}`, ctx], { root: await freshDir('tsb-root-') })
    expect(await readFile(victim, 'utf8')).toBe('precious\n')
    expect((await lstat(join(dest, 'provenance.json'))).isFile()).toBe(true)
    expect(JSON.parse(await readFile(join(dest, 'provenance.json'), 'utf8'))).toMatchObject({ _type: 'https://in-toto.io/Statement/v0.1' })
    const tar = join(await freshDir('tsb-out-'), 'fs.tar')
    await buildOk(['build', '--progress=plain', '--provenance=true', '-o', `type=tar,dest=${tar}`, ctx], { root: await freshDir('tsb-root-') })
    expect(await readFile(victim, 'utf8')).toBe('precious\n')
    const { stdout } = await promisify(execFile)('tar', ['-tvf', tar, 'provenance.json'])
    expect(stdout).toMatch(/^-rw-------/)

    const dirCtx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN mkdir /provenance.json && touch /provenance.json/x\n` })
    const r = await runTsbuild(['build', '--progress=plain', '--provenance=true', '-o', `type=local,dest=${await freshDir('tsb-out-')}`, dirCtx], { root: await freshDir('tsb-root-') })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('the output has a directory provenance.json where the provenance statement goes')
  }, 60_000)

  test('--provenance with type=docker', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\n` })
    const out = join(await freshDir('tsb-out-'), 'i.tar')
    const r = await runTsbuild(['build', '--progress=plain', '--provenance=true', '-t', 'probe:1', '-o', `type=docker,dest=${out}`, ctx], { root: await freshDir('tsb-root-') })
    // Documented: a docker archive carries no attestation (docker load would keep none), and the build still succeeds.
    expect(r.code).toBe(0)
    const manifest = JSON.parse(await skopeo('inspect', '--raw', `oci-archive:${out}`)) as ImageManifest
    expect(manifest.layers.some((l) => l.mediaType.includes('in-toto'))).toBe(false)
  }, 60_000)

  test('--load of an attested image, then images, inspect, save, push', async () => {
    const root = await freshDir('tsb-root-')
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN echo x > /x\n` })
    await buildOk(['build', '--progress=plain', '--provenance=true', '--platform', 'linux/amd64,linux/arm64', '--load', '-t', 'att:1', ctx], { root })
    for (const args of [['images'], ['inspect', 'att:1'], ['save', '-o', join(await freshDir('tsb-save-'), 's.tar'), 'att:1'], ['push', 'att:1', `${registry}/probe-att-${unique()}:1`]]) {
      const r = await runTsbuild(args, { root })
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0)
      if (args[0] === 'images') expect(r.stdout).not.toContain('unknown')
    }
  }, 90_000)

  test('SOURCE_DATE_EPOCH: two attested builds give the same image manifests', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN echo x > /x\n` })
    const digests: string[][] = []
    for (let i = 0; i < 2; i++) {
      const out = join(await freshDir('tsb-out-'), 'i.tar')
      await buildOk(['build', '--progress=plain', '--provenance=true', '-o', `type=oci,dest=${out}`, ctx], { root: await freshDir('tsb-root-'), env: { SOURCE_DATE_EPOCH: '1700000000' } })
      const index = JSON.parse(await skopeo('inspect', '--raw', `oci-archive:${out}`)) as ImageIndex
      digests.push(index.manifests.filter((m) => m.platform?.os === 'linux').map((m) => m.digest))
    }
    expect(digests[0]).toEqual(digests[1])
  }, 60_000)

  test('cache round trip: the cache keeps no attestation, a rebuild from it still attests', async () => {
    const cache = await freshDir('tsb-cache-')
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN echo c > /c\n` })
    const out1 = join(await freshDir('tsb-out-'), 'i.tar')
    await buildOk(['build', '--progress=plain', '--provenance=true', '--cache-to', `type=local,dest=${cache},mode=max`, '-o', `type=oci,dest=${out1}`, ctx], { root: await freshDir('tsb-root-') })
    const blobs = await readdir(join(cache, 'blobs', 'sha256'))
    for (const b of blobs) expect((await readFile(join(cache, 'blobs', 'sha256', b))).includes('in-toto')).toBe(false)
    const out2 = join(await freshDir('tsb-out-'), 'i.tar')
    await buildOk(['build', '--progress=plain', '--provenance=true', '--cache-from', `type=local,src=${cache}`, '-o', `type=oci,dest=${out2}`, ctx], { root: await freshDir('tsb-root-') })
    const index = JSON.parse(await skopeo('inspect', '--raw', `oci-archive:${out2}`)) as ImageIndex
    expect(index.manifests).toHaveLength(2)
  }, 60_000)
  test('a multi-platform push where one platform fails pushes nothing', async () => {
    const repo = `${registry}/probe-partial-${unique()}`
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN [ "$(uname -m)" = x86_64 ]\n` })
    const r = await runTsbuild(['build', '--progress=plain', '--provenance=true', '--platform', 'linux/amd64,linux/arm64', '--push', '-t', `${repo}:1`, ctx], { root: await freshDir('tsb-root-') })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('[linux/arm64 2/2] RUN')
    await expect(skopeo('inspect', '--raw', '--tls-verify=false', `docker://${repo}:1`)).rejects.toThrow(/manifest unknown|not found|404/i)
  }, 60_000)

  test('type=oci,tar=false and push-by-digest take the attestation too', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN echo a > /a\n` })
    const dest = await freshDir('tsb-out-')
    await buildOk(['build', '--progress=plain', '--provenance=true', '-o', `type=oci,tar=false,dest=${dest}`, ctx], { root: await freshDir('tsb-root-') })
    const layout = JSON.parse(await skopeo('inspect', '--raw', `oci:${dest}`)) as ImageIndex
    expect(layout.manifests.map((m) => m.platform?.os)).toEqual(['linux', 'unknown'])
    const meta = join(await freshDir('tsb-out-'), 'meta.json')
    const repo = `${registry}/probe-pbd-${unique()}`
    await buildOk(['build', '--progress=plain', '--provenance=true', '--metadata-file', meta, '-o', `type=image,name=${repo},push=true,push-by-digest=true,name-canonical=true`, ctx], { root: await freshDir('tsb-root-') })
    const m = JSON.parse(await readFile(meta, 'utf8')) as Record<string, string>
    expect(m['image.name']).toBe(`${repo},${repo}@${m['containerimage.digest']}`)
    const pushed = JSON.parse(await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${repo}@${m['containerimage.digest']}`)) as ImageIndex
    expect(pushed.manifests.map((d) => d.platform?.os)).toEqual(['linux', 'unknown'])
  }, 60_000)

  test('FROM an attested image (local store, oci-layout context): the image, or a message naming the platforms it has', async () => {
    const root = await freshDir('tsb-root-')
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN echo base > /base\n` })
    await buildOk(['build', '--progress=plain', '--provenance=true', '--load', '-t', 'localatt:1', ctx], { root })
    const child = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: 'FROM localatt:1\nRUN cat /base\n' })
    await buildOk(['build', '--progress=plain', child], { root })
    const arm = await runTsbuild(['build', '--progress=plain', '--platform', 'linux/arm64', child], { root })
    expect(arm.code).toBe(1)
    expect(arm.stderr).toContain('has no manifest for linux/arm64; it has linux/amd64\n')

    const layout = await freshDir('tsb-layout-')
    await buildOk(['build', '--progress=plain', '--provenance=true', '--platform', 'linux/amd64,linux/arm64', '-o', `type=oci,tar=false,dest=${layout}`, ctx], { root: await freshDir('tsb-root-') })
    const fromLayout = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: 'FROM base\nRUN cat /base && uname -m > /arch\n' })
    const out = await freshDir('tsb-out-')
    await buildOk(['build', '--progress=plain', '--platform', 'linux/amd64,linux/arm64', '--build-context', `base=oci-layout://${layout}`, '-o', `type=local,dest=${out}`, fromLayout], { root: await freshDir('tsb-root-') })
    expect((await readFile(join(out, 'linux_arm64', 'arch'), 'utf8')).trim()).toBe('aarch64')
  }, 60_000)

  test('inline cache of an attested image is found again', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN echo inl > /inl\n` })
    const ref = `${registry}/probe-inline-${unique()}:1`
    await buildOk(['build', '--progress=plain', '--provenance=true', '--cache-to', 'type=inline', '--push', '-t', ref, ctx], { root: await freshDir('tsb-root-') })
    const r = await buildOk(['build', '--progress=plain', '--provenance=true', '--cache-from', `type=registry,ref=${ref}`, '-o', `type=oci,dest=${join(await freshDir('tsb-out-'), 'x.tar')}`, ctx], { root: await freshDir('tsb-root-') })
    expect(r.stderr).toMatch(/RUN echo inl > \/inl\n#\d+ CACHED/)
  }, 60_000)
})

describe('imagetools', () => {
  test('an attested index as a source: attestations follow their images, reference digests still right', async () => {
    const src = `${registry}/probe-it-src-${unique()}:1`
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN echo i > /i\n` })
    const root = await freshDir('tsb-root-')
    await buildOk(['build', '--progress=plain', '--provenance=true', '--platform', 'linux/amd64,linux/arm64', '--push', '-t', src, ctx], { root })
    const target = `${registry}/probe-it-dst-${unique()}:joined`
    const r = await runTsbuild(['imagetools', 'create', '-t', target, src, src], { root })
    expect(r.code).toBe(0)
    const index = JSON.parse(await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${target}`)) as ImageIndex
    const images = new Set<string>(index.manifests.filter((m) => m.platform?.os === 'linux').map((m) => m.digest))
    const atts = index.manifests.filter((m) => m.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest')
    expect(images.size).toBe(2)
    expect(atts).toHaveLength(2)
    for (const a of atts) expect(images.has(a.annotations!['vnd.docker.reference.digest']!)).toBe(true)
    // every manifest is readable in the target repository
    for (const m of index.manifests) JSON.parse(await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${target.replace(/:joined$/, '')}@${m.digest}`)) as ImageManifest
    const again = await runTsbuild(['imagetools', 'create', '--append', '-t', target, src], { root })
    const again2 = await runTsbuild(['imagetools', 'create', '--append', '-t', target, src], { root })
    expect([again.code, again2.code]).toEqual([0, 0])
    const after = JSON.parse(await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${target}`)) as ImageIndex
    expect(after.manifests).toHaveLength(4)
  }, 90_000)

  test('--append of an attested arm64 index to an attested amd64 index keeps each attestation beside its image', async () => {
    const root = await freshDir('tsb-root-')
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN uname -m > /m\n` })
    const repo = `${registry}/probe-app-${unique()}`
    await buildOk(['build', '--progress=plain', '--provenance=true', '--platform', 'linux/amd64', '--push', '-t', `${repo}:amd64`, ctx], { root })
    await buildOk(['build', '--progress=plain', '--provenance=true', '--platform', 'linux/arm64', '--push', '-t', `${repo}:arm64`, ctx], { root })
    await buildOk(['imagetools', 'create', '-t', `${repo}:all`, `${repo}:amd64`], { root })
    await buildOk(['imagetools', 'create', '--append', '-t', `${repo}:all`, `${repo}:arm64`], { root })
    const index = JSON.parse(await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${repo}:all`)) as ImageIndex
    const rows = index.manifests.map((m) => `${m.platform?.os}/${m.platform?.architecture}`)
    expect(rows).toEqual(['linux/amd64', 'unknown/unknown', 'linux/arm64', 'unknown/unknown'])
    expect(index.manifests[1]!.annotations?.['vnd.docker.reference.digest']).toBe(index.manifests[0]!.digest)
    expect(index.manifests[3]!.annotations?.['vnd.docker.reference.digest']).toBe(index.manifests[2]!.digest)
    const out = await freshDir('tsb-out-')
    const child = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${repo}:all\nRUN cp /m /from-base\n` })
    await buildOk(['build', '--progress=plain', '--platform', 'linux/amd64,linux/arm64', '-o', `type=local,dest=${out}`, child], { root: await freshDir('tsb-root-') })
    expect((await readFile(join(out, 'linux_arm64', 'from-base'), 'utf8')).trim()).toBe('aarch64')
  }, 60_000)

  test('inspect of a missing tag, a tag with a digest', async () => {
    const root = await freshDir('tsb-root-')
    const r = await runTsbuild(['imagetools', 'inspect', `${registry}/nothing-here-${unique()}:nope`], { root })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('not found')
    const digest = (await skopeo('inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${busybox}`)).trim()
    const r2 = await runTsbuild(['imagetools', 'inspect', `${busybox}@${digest}`], { root })
    expect(r2.code).toBe(0)
    expect(r2.stdout).toContain(`Digest:    ${digest}`)
  }, 60_000)

  test('a Docker v2 manifest and an attested OCI index join into one OCI index; 40 copies of one source are one', async () => {
    const root = await freshDir('tsb-root-')
    const v2 = `${registry}/probe-v2-${unique()}:1`
    await skopeo('copy', '--override-arch', 'amd64', '--format', 'v2s2', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${busybox}`, `docker://${v2}`)
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN echo a > /a\n` })
    const oci = `${registry}/probe-ociatt-${unique()}:1`
    await buildOk(['build', '--progress=plain', '--provenance=true', '--platform', 'linux/arm64', '--push', '-t', oci, ctx], { root })
    const target = `${registry}/probe-mixed-${unique()}:1`
    await buildOk(['imagetools', 'create', '-t', target, v2, oci], { root })
    const index = JSON.parse(await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${target}`)) as ImageIndex
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json')
    expect(index.manifests.map((m) => [m.mediaType, `${m.platform?.os}/${m.platform?.architecture}`])).toEqual([
      ['application/vnd.docker.distribution.manifest.v2+json', 'linux/amd64'],
      ['application/vnd.oci.image.manifest.v1+json', 'linux/arm64'],
      ['application/vnd.oci.image.manifest.v1+json', 'unknown/unknown'],
    ])
    expect(index.manifests[2]!.annotations?.['vnd.docker.reference.digest']).toBe(index.manifests[1]!.digest)
    const many = `${registry}/probe-many-${unique()}:1`
    await buildOk(['imagetools', 'create', '-t', many, ...Array.from({ length: 40 }, () => oci)], { root })
    expect((JSON.parse(await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${many}`)) as ImageIndex).manifests).toHaveLength(2)
  }, 60_000)

  test('a copy interrupted with Ctrl-C, then retried, gives a whole image', async () => {
    const root = await freshDir('tsb-root-')
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN head -c 3000000 /dev/urandom > /big\n` })
    const src = `${registry}/probe-intr-${unique()}:1`
    await buildOk(['build', '--progress=plain', '--provenance=true', '--platform', 'linux/amd64,linux/arm64', '--push', '-t', src, ctx], { root })
    const other = await startRegistry()
    let slow = true
    let sawUpload!: () => void
    const uploading = new Promise<void>((resolve) => { sawUpload = resolve })
    const proxy = await startProxy(other.host, async (req, res, forward) => {
      if (slow && (req.method === 'PUT' || req.method === 'PATCH') && req.url.includes('/blobs/uploads/')) { sawUpload(); await new Promise((resolve) => setTimeout(resolve, 3000)) }
      writeUpstream(res, await forward())
    })
    try {
      const target = `${proxy.host}/copied:1`
      const run = spawnTsbuild(['imagetools', 'create', '-t', target, src], { root })
      await uploading
      run.child.kill('SIGINT')
      const first = await run.done
      expect(first.code).toBe(130)
      slow = false
      await buildOk(['imagetools', 'create', '-t', target, src], { root })
      const copy = await freshDir('tsb-copy-')
      await skopeo('copy', '--all', '--src-tls-verify=false', `docker://${target}`, `oci:${copy}:x`)
      expect(await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${target}`)).toBe(await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${src}`))
    } finally { await proxy.close(); await other.stop() }
  }, 60_000)
})

describe('secret masking', () => {
  test('a file secret printed without its newline as the last output is masked in plain output and the failure tail', async () => {
    const secret = `tok-${unique()}-value`
    const dir = await freshDir('tsb-sec-')
    await writeContext(dir, { secret: `${secret}\n` })
    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: `FROM ${busybox}\nRUN --mount=type=secret,id=s printf 'value=%s' "$(cat /run/secrets/s)"\nRUN --mount=type=secret,id=s printf 'again=%s' "$(cat /run/secrets/s)"; exit 3\n`,
    })
    const r = await runTsbuild(['build', '--progress=plain', '--secret', `id=s,src=${join(dir, 'secret')}`, ctx], { root: await freshDir('tsb-root-') })
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain('value=****')
    expect(r.stderr).toContain('again=****')
    expect(r.stderr).not.toContain(secret)
  }, 60_000)

  test('a secret printed 100,000 times: every one masked, and the step stays fast', async () => {
    // The file ends in a newline the step never prints, so one masked form is never found.
    const secret = 'hunter22-secret'
    const dir = await freshDir('tsb-sec-')
    await writeContext(dir, { secret: `${secret}\n` })
    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: `FROM ${busybox}\nRUN --mount=type=secret,id=s S=$(cat /run/secrets/s); seq 1 100000 | sed "s/.*/$S/" | tr '\\n' ' '\n`,
    })
    const started = Date.now()
    const r = await runTsbuild(['build', '--progress=plain', '--secret', `id=s,src=${join(dir, 'secret')}`, ctx], { root: await freshDir('tsb-root-') })
    const took = Date.now() - started
    expect(r.code, r.stderr.slice(-500)).toBe(0)
    expect(r.stderr).not.toContain(secret)
    expect(r.stderr.split('****').length - 1).toBe(100_000)
    // The build takes about 1 s here; masking must not add seconds to it.
    expect(took).toBeLessThan(10_000)
  }, 60_000)
})

describe('image names', () => {
  test.each([
    ['--load -t', (d: string) => ['--load', '-t', `app:1@${d}`]],
    ['-o type=oci -t', (d: string) => ['-o', 'type=oci,dest=out.tar', '-t', `app@${d}`]],
    ['push-by-digest name=', (d: string) => ['-o', `type=image,name=${registry}/app@${d},push=true,push-by-digest=true`]],
  ])('%s with a digest is refused before the build (it was stored under a digest that was not the image\'s)', async (_, flags) => {
    const digest = `sha256:${'0'.repeat(64)}`
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: 'FROM scratch\nCOPY f /f\n', f: 'x\n' })
    const r = await runTsbuild(['build', '--progress=plain', ...flags(digest), ctx], { root: await freshDir('tsb-root-') })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('an output is named by repository and tag, not by digest')
    expect(r.stderr).not.toContain('COPY f /f')
  })
})
