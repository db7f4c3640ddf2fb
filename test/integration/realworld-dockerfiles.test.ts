// Dockerfiles written the way popular projects write them, built with the
// CLI and judged against what `docker buildx build` produces: the names an
// archive records, the image config, and files as podman sees them.
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { createPodman, type Podman } from '../helpers/podman.js'
import { buildOk, ensureBuilt, freshDir, writeContext } from '../helpers/tsbuild.js'

const run = promisify(execFile)
const tarMember = async (tar: string, member: string): Promise<string> => (await run('tar', ['-xOf', tar, member], { maxBuffer: 16 << 20 })).stdout

interface LayoutIndex { manifests: Array<{ annotations?: Record<string, string> }> }
interface DockerManifest { RepoTags: string[] | null }

let busybox: string
let root: string
let podman: Podman
beforeAll(async () => {
  busybox = inject('busybox')
  root = await freshDir('tsb-rw-root-')
  podman = await createPodman()
  await ensureBuilt()
})
afterAll(async () => { await podman?.close() })

describe('names recorded in exported archives', () => {
  // BuildKit normalizes -t names (reference.TagNameOnly) before the archive writer sees them:
  // the OCI index carries the full name for containerd and the tag alone as ref.name, and
  // docker's manifest.json carries the familiar form, as `docker save` writes it.
  test.each([
    ['myapp:1.0', 'docker.io/library/myapp:1.0', '1.0', 'myapp:1.0'],
    ['myorg/api', 'docker.io/myorg/api:latest', 'latest', 'myorg/api:latest'],
    ['docker.io/library/web:2', 'docker.io/library/web:2', '2', 'web:2'],
    ['localhost:5000/team/svc:rc1', 'localhost:5000/team/svc:rc1', 'rc1', 'localhost:5000/team/svc:rc1'],
  ])('-t %s', async (tag, containerdName, refName, repoTag) => {
    const ctx = await writeContext(await freshDir('tsb-rw-ctx-'), { Dockerfile: 'ARG BASE\nFROM ${BASE}\nCMD ["true"]\n' })
    const out = await freshDir('tsb-rw-out-')
    await buildOk(['build', '--build-arg', `BASE=${busybox}`, '-t', tag,
      '-o', `type=oci,dest=${join(out, 'x.tar')}`, '-o', `type=docker,dest=${join(out, 'y.tar')}`, ctx], { root })
    const index = JSON.parse(await tarMember(join(out, 'x.tar'), 'index.json')) as LayoutIndex
    expect(index.manifests.map((m) => m.annotations)).toEqual([{
      'io.containerd.image.name': containerdName, 'org.opencontainers.image.ref.name': refName,
    }])
    const manifest = JSON.parse(await tarMember(join(out, 'y.tar'), 'manifest.json')) as DockerManifest[]
    expect(manifest[0]!.RepoTags).toEqual([repoTag])
  })
})

describe('an ONBUILD base image, as language images once shipped them', () => {
  // A team builds its own base with ONBUILD triggers into an OCI layout, and apps
  // start FROM it through --build-context: BuildKit runs the triggers before the
  // app's own instructions, and a --build-arg reaches an ARG that a trigger declares.
  test('FROM a context image runs its triggers, which read the app\'s context', async () => {
    const layout = join(await freshDir('tsb-rw-out-'), 'layout')
    const baseCtx = await writeContext(await freshDir('tsb-rw-ctx-'), {
      Dockerfile: [
        'ARG BASE', 'FROM ${BASE}', 'WORKDIR /app',
        'ONBUILD COPY app.txt /app/', 'ONBUILD RUN echo "onbuild ran" > /app/onbuild.txt',
        'ONBUILD ARG GREETING=hi', 'ONBUILD ENV GREETING=${GREETING}', '',
      ].join('\n'),
    })
    await buildOk(['build', '--build-arg', `BASE=${busybox}`, '-t', 'obbase:1', '-o', `type=oci,tar=false,dest=${layout}`, baseCtx], { root })
    const appCtx = await writeContext(await freshDir('tsb-rw-ctx-'), {
      Dockerfile: 'FROM obbase\nRUN cat app.txt onbuild.txt > all.txt\n',
      'app.txt': 'from the app\n',
    })
    const out = await freshDir('tsb-rw-out-')
    await buildOk(['build', '--build-context', `obbase=oci-layout://${layout}:1`, '--build-arg', 'GREETING=yo',
      '-t', 'obapp:1', '-o', `type=docker,dest=${join(out, 'y.tar')}`, appCtx], { root })
    await podman('load', '-i', join(out, 'y.tar'))
    expect(await podman.run('obapp:1', 'sh', '-c', 'cat /app/all.txt; echo "$GREETING"')).toBe('from the app\nonbuild ran\nyo\n')
    const config = JSON.parse(await podman('image', 'inspect', '--format', '{{json .Config}}', 'obapp:1')) as { OnBuild?: string[] | null }
    expect(config.OnBuild ?? []).toEqual([])
  })
})
