// tsbuild run the way CI pipelines run `docker buildx build` (build-push-action,
// shell scripts): tags from variables, pushes, caches on fresh runners, metadata
// files read by later steps. Each case is a difference from buildx found by
// running such a pipeline.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, inject, test } from 'vitest'
import { skopeo } from '../setup/registry.js'
import { buildOk, ensureBuilt, freshDir, runTsbuild, writeContext } from '../helpers/tsbuild.js'

let busybox: string
let registry: string
beforeAll(async () => {
  busybox = inject('busybox')
  registry = inject('registry')
  await ensureBuilt()
})

/** The lines of a failed run's stderr that are not progress. */
const errorLines = (stderr: string): string[] => stderr.split('\n').filter((l) => l.startsWith('ERROR') || /^\s+at /.test(l))

describe('image names are checked before the build, as buildx checks its tags', () => {
  // `-t ghcr.io/${{ github.repository }}` keeps the owner's case: buildx refuses it before any
  // step runs; a build that runs every step first wastes the whole job.
  test.each([
    ['an uppercase repository in -t, pushed', (r: string) => ['-t', `${r}/Org/App:1`, '--push'], 'must be lowercase'],
    ['an uppercase repository in -t, stored', () => ['-t', 'ci/App:1'], 'must be lowercase'],
    ['a tag with a character tags cannot hold', () => ['-t', 'ci/app:v1+build'], 'tag'],
    ['an uppercase name= of an image output', (r: string) => ['-o', `type=image,name=${r}/Org/app:1,push=true`], 'must be lowercase'],
    ['a bad second -t', (r: string) => ['-t', `${r}/ci/app:1`, '-t', `${r}/ci/App:1`, '--push'], 'must be lowercase'],
  ])('%s: one ERROR line, exit 1, no step runs', async (_what, flags, cause) => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN echo STEP-RAN\n` })
    const r = await runTsbuild(['build', '--progress=plain', ...flags(registry), ctx], { root: await freshDir('tsb-root-') })
    expect(r.code).toBe(1)
    expect(r.stderr).not.toContain('STEP-RAN')
    expect(r.stderr).not.toMatch(/^#\d+ /m)
    const errors = errorLines(r.stderr)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(/^ERROR: invalid image reference ".*"/)
    expect(errors[0]).toContain(cause)
  })
})

describe('a cache that cannot be read', () => {
  // A fork's pull request has no registry credentials: its --cache-from fails and the build goes on.
  test('--cache-from a registry that refuses us: one warning naming the cache once, and the build succeeds', async () => {
    const auth = inject('authRegistry')
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN echo built > /out\n` })
    const ref = `${auth.host}/ci/cache:buildcache`
    const r = await runTsbuild(['build', '--progress=plain', '--cache-from', `type=registry,ref=${ref}`, ctx], { root: await freshDir('tsb-root-'), env: { HOME: await freshDir('tsb-home-') } })
    expect(r.code).toBe(0)
    const warnings = r.stderr.split('\n').filter((l) => l.includes('cannot import cache'))
    expect(warnings).toEqual([`WARNING: cannot import cache from registry ${ref}: registry ${auth.host} requires authentication and no credentials are configured for it`])
  })
})

describe('push-by-digest, as the multi-runner workflow in Docker\'s CI docs uses it', () => {
  // Each runner builds one platform with `type=image,name=REPO,push-by-digest=true,name-canonical=true,push=true`
  // and hands containerimage.digest to a job that makes the index; no runner pushes a tag.
  test('each platform is pushed untagged under its digest, and the metadata names REPO@DIGEST', async () => {
    const repo = `${registry}/ci/by-digest-${Date.now()}`
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nARG TARGETARCH\nRUN echo $TARGETARCH > /arch\n` })
    const root = await freshDir('tsb-root-')
    const digests: string[] = []
    for (const platform of ['linux/amd64', 'linux/arm64']) {
      const meta = join(root, `${platform.replace('/', '-')}.json`)
      await buildOk(['build', '--progress=plain', '--platform', platform, '-o', `type=image,name=${repo},push-by-digest=true,name-canonical=true,push=true`, '--metadata-file', meta, ctx], { root })
      const m = JSON.parse(await readFile(meta, 'utf8')) as Record<string, string>
      const digest = m['containerimage.digest']!
      expect(m['image.name']!.split(',')).toContain(`${repo}@${digest}`)
      const manifest = JSON.parse(await skopeo('inspect', '--tls-verify=false', '--raw', `docker://${repo}@${digest}`)) as { config: { digest: string } }
      expect(manifest.config.digest).toBe(m['containerimage.config.digest'])
      digests.push(digest)
    }
    expect(new Set(digests).size).toBe(2)
    const tags = await fetch(`http://${repo.replace(registry, `${registry}/v2`)}/tags/list`).then(async (r) => (await r.json()) as { tags?: string[] | null })
    expect(tags.tags ?? []).toEqual([])
  })

  test('a tagged name with push-by-digest is refused before any step runs', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN echo STEP-RAN\n` })
    const r = await runTsbuild(['build', '--progress=plain', '-o', `type=registry,name=${registry}/ci/app:1,push-by-digest=true`, ctx], { root: await freshDir('tsb-root-') })
    expect(r.code).toBe(2)
    expect(r.stderr).not.toContain('STEP-RAN')
    expect(errorLines(r.stderr)).toEqual([`ERROR: push-by-digest=true pushes no tag, but the name "${registry}/ci/app:1" has one: name the repository alone`])
  })
})
