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

describe('a Node-style app: deps stage, --chown from ARGs, USER, .dockerignore exceptions', () => {
  const DOCKERFILE = [
    'ARG BASE',
    'FROM ${BASE} AS deps',
    'ARG UID=2000',
    'ARG GID=2000',
    'WORKDIR /app',
    'RUN echo "node:x:$GID:" >> /etc/group && echo "node:x:$UID:$GID::/home/node:/bin/sh" >> /etc/passwd',
    'COPY --chown=$UID:$GID package*.json ./',
    'RUN mkdir node_modules && echo dep > node_modules/dep.js',
    '',
    'FROM deps AS runner',
    'ENV NODE_ENV=production',
    'ENV PATH=/app/node_modules/.bin:$PATH',
    'COPY --chown=node:node . .',
    'USER node',
    'WORKDIR data',
    'RUN id -u > whoami',
    'HEALTHCHECK --interval=30s --timeout=3s CMD wget -qO- http://localhost:3000/health || exit 1',
    'EXPOSE 3000 9229/udp',
    'CMD ["node", "server.js"]',
    '',
  ].join('\n')
  let out: string
  beforeAll(async () => {
    const ctx = await writeContext(await freshDir('tsb-rw-ctx-'), {
      Dockerfile: DOCKERFILE,
      '.dockerignore': 'node_modules\n*.log\n!keep.log\n',
      'package.json': '{}\n',
      'package-lock.json': '{}\n',
      'server.js': 'serve\n',
      'keep.log': 'kept\n',
      'debug.log': 'dropped\n',
      'node_modules/local.js': 'from the host\n',
    })
    out = await freshDir('tsb-rw-out-')
    await buildOk(['build', '--build-arg', `BASE=${busybox}`, '-t', 'nodeapp:1', '-o', `type=docker,dest=${join(out, 'y.tar')}`, ctx], { root })
    await podman('load', '-i', join(out, 'y.tar'))
  })

  test('files, owners and the user inside the image are what docker builds', async () => {
    const listing = await podman.run('nodeapp:1', 'sh', '-c', 'cd /app && ls -an | awk \'NR>1 && $9 !~ /^\\.\\.?$/ {print $3":"$4, $9}\'; cat data/whoami; cat node_modules/dep.js')
    expect(listing).toBe([
      '2000:2000 .dockerignore', '2000:2000 Dockerfile', '2000:2000 data', '2000:2000 keep.log',
      '0:0 node_modules', '2000:2000 package-lock.json', '2000:2000 package.json', '2000:2000 server.js',
      '2000', 'dep', '',
    ].join('\n'))
  })

  test('the config carries Env in order, User, WorkingDir, ports, healthcheck and Cmd', async () => {
    const config = JSON.parse(await podman('image', 'inspect', '--format', '{{json .Config}}', 'nodeapp:1')) as Record<string, unknown>
    expect(config).toMatchObject({
      Env: ['PATH=/app/node_modules/.bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'NODE_ENV=production'],
      User: 'node',
      WorkingDir: '/app/data',
      ExposedPorts: { '3000/tcp': {}, '9229/udp': {} },
      Cmd: ['node', 'server.js'],
    })
  })

  test('the docker archive is an OCI layout too, as docker save and BuildKit write it', async () => {
    const run2 = async (...args: string[]): Promise<string> => (await run('skopeo', args, { maxBuffer: 16 << 20 })).stdout
    const viaOci = JSON.parse(await run2('inspect', '--config', `oci-archive:${join(out, 'y.tar')}`)) as { config: { Healthcheck?: unknown; User?: string }; rootfs: { diff_ids: string[] } }
    const viaDocker = JSON.parse(await run2('inspect', '--config', `docker-archive:${join(out, 'y.tar')}`)) as typeof viaOci
    expect(viaOci.rootfs.diff_ids).toEqual(viaDocker.rootfs.diff_ids)
    expect(viaOci.config.User).toBe('node')
    const index = JSON.parse(await tarMember(join(out, 'y.tar'), 'index.json')) as LayoutIndex
    expect(index.manifests.map((m) => m.annotations?.['io.containerd.image.name'])).toEqual(['docker.io/library/nodeapp:1'])
  })
})

describe('a Go-style multi-stage build: global ARGs, cache and secret mounts, heredocs, --link, --target', () => {
  const DOCKERFILE = [
    '# syntax=docker/dockerfile:1',
    'ARG BASE',
    'ARG APP_VERSION=1.2.3',
    'FROM ${BASE} AS builder',
    'ARG APP_VERSION',
    'WORKDIR /src',
    'COPY main.go .',
    'RUN --mount=type=cache,id=gomod,target=/go/pkg/mod,sharing=locked \\',
    '    --mount=type=secret,id=netrc,env=NETRC_TOKEN \\',
    '    --mount=type=tmpfs,target=/tmp/build \\',
    '    mkdir -p /out && echo "v${APP_VERSION} token=${#NETRC_TOKEN}" > /out/version',
    'RUN <<-EOT',
    '\t#!/usr/bin/env sh',
    '\tprintf \'#!/bin/sh\\necho app\\n\' > /out/app && chmod 755 /out/app',
    '\tEOT',
    '',
    'FROM ${BASE} AS release',
    'ARG APP_VERSION',
    'LABEL org.opencontainers.image.version=$APP_VERSION org.opencontainers.image.title="My App"',
    'COPY --link --from=builder /out/app /out/version /usr/local/bin/',
    'USER 65534:65534',
    'ENTRYPOINT ["/usr/local/bin/app"]',
    'CMD ["--help"]',
    '',
    'FROM release AS debug',
    'USER root',
    '',
  ].join('\n')

  test('--target release with a --build-arg override and a secret from the environment', async () => {
    const ctx = await writeContext(await freshDir('tsb-rw-ctx-'), { Dockerfile: DOCKERFILE, 'main.go': 'package main\n' })
    const out = await freshDir('tsb-rw-out-')
    await buildOk(['build', '--build-arg', `BASE=${busybox}`, '--build-arg', 'APP_VERSION=2.0.0', '--secret', 'id=netrc,env=NETRC_SRC',
      '--target', 'release', '-t', 'goapp:2', '-o', `type=docker,dest=${join(out, 'y.tar')}`, ctx], { root, env: { NETRC_SRC: 's3cr3t' } })
    await podman('load', '-i', join(out, 'y.tar'))
    expect(await podman.run('goapp:2')).toBe('app\n')
    expect(await podman.run('--entrypoint', 'cat', 'goapp:2', '/usr/local/bin/version')).toBe('v2.0.0 token=6\n')
    const image = JSON.parse((await run('skopeo', ['inspect', '--config', `docker-archive:${join(out, 'y.tar')}`])).stdout) as {
      config: Record<string, unknown>; history: Array<{ created_by: string; empty_layer?: boolean }>; rootfs: { diff_ids: string[] }
    }
    expect(image.config).toMatchObject({
      User: '65534:65534', Entrypoint: ['/usr/local/bin/app'], Cmd: ['--help'],
      Labels: { 'org.opencontainers.image.version': '2.0.0', 'org.opencontainers.image.title': 'My App' },
    })
    // BuildKit's history lines for the release stage (base history first); one layer for the COPY.
    const own = image.history.slice(-6).map((h) => h.created_by)
    expect(own).toEqual([
      'ARG APP_VERSION=2.0.0',
      'LABEL org.opencontainers.image.version=2.0.0 org.opencontainers.image.title=My App',
      'COPY /out/app /out/version /usr/local/bin/ # buildkit',
      'USER 65534:65534',
      'ENTRYPOINT ["/usr/local/bin/app"]',
      'CMD ["--help"]',
    ])
    expect(image.rootfs.diff_ids.length).toBe(image.history.filter((h) => h.empty_layer !== true).length)
    expect(JSON.stringify(image)).not.toContain('s3cr3t')
  })
})
