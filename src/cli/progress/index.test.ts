import { describe, expect, test } from 'vitest'
import type { StepRecord } from '../../cache/history/index.js'
import type { Digest } from '../../common/digest.js'
import { buildMetadata, createProgress, resolveProgressMode, summarizeRequest } from './index.js'
import type { BuildRequest } from '../../engine/request.js'

describe('resolveProgressMode', () => {
  test.each([
    ['auto', true, 'xterm', 'tty'],
    ['auto', true, 'dumb', 'plain'],
    ['auto', false, 'xterm', 'plain'],
    ['auto', undefined, undefined, 'plain'],
    ['tty', false, undefined, 'tty'],
    ['rawjson', true, 'xterm', 'rawjson'],
    ['quiet', true, 'xterm', 'quiet'],
  ] as const)('%s with isTTY=%s TERM=%s is %s', (mode, isTTY, term, want) => {
    expect(resolveProgressMode(mode, { stderr: { isTTY } as never, env: term === undefined ? {} : { TERM: term } })).toBe(want)
  })
})

test('summarizeRequest keeps secret and ssh ids, never their sources', () => {
  const req = {
    contextDir: '/ctx', dockerfile: { displayName: 'Dockerfile' }, tags: ['app'], platforms: [{ os: 'linux', architecture: 'arm64' }],
    buildArgs: new Map([['V', '1']]), outputs: [], push: false, noCache: true, labels: new Map(), noCacheFilter: [], network: 'default',
    secrets: [{ id: 'tok', kind: 'env', env: 'MY_TOKEN' }, { id: 'key', kind: 'file', src: '/home/me/.key' }], ssh: [{ id: 'default', paths: ['/run/agent.sock'] }],
  } as unknown as BuildRequest
  const s = summarizeRequest(req)
  expect(s).toEqual({ context: '/ctx', dockerfile: 'Dockerfile', platforms: ['linux/arm64'], tags: ['app'], outputs: [], push: false, noCache: true, buildArgs: { V: '1' }, secretIds: ['tok', 'key'], sshIds: ['default'] })
  expect(JSON.stringify(s)).not.toMatch(/MY_TOKEN|\.key|agent\.sock/)
})

test('summarizeRequest keeps labels, the no-cache filter, the network and the run flags when given', () => {
  const req = {
    contextDir: '/ctx', dockerfile: { displayName: 'Dockerfile' }, tags: [], platforms: [], buildArgs: new Map(), outputs: [], push: false, noCache: false,
    secrets: [], ssh: [], labels: new Map([['team', 'core']]), noCacheFilter: ['build'], network: 'host',
    extraHosts: [{ host: 'db', ip: '10.0.0.2' }], shmSize: 1024, ulimits: [{ name: 'nofile', soft: 10, hard: 20 }],
  } as unknown as BuildRequest
  expect(summarizeRequest(req)).toMatchObject({ labels: { team: 'core' }, noCacheFilter: ['build'], network: 'host', addHosts: ['db:10.0.0.2'], shmSize: 1024, ulimits: ['nofile=10:20'] })
})

test('buildMetadata: buildx keys, build ref and each vertex step with its cache outcome', () => {
  const steps: StepRecord[] = [
    { number: 1, digest: 'sha256:aa', name: '[1/2] FROM busybox', status: 'cached', cached: true, logBytes: 0 },
    { number: 2, digest: 'sha256:bb', name: '[2/2] RUN make', status: 'completed', cached: false, durationMs: 1200, missReason: 'no cache record for this step', logBytes: 10 },
    { number: 3, name: 'exporting to image', status: 'completed', cached: false, logBytes: 0 },
  ]
  const descriptor = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: 'sha256:cafe' as Digest, size: 400 }
  const m = buildMetadata({
    exported: { descriptor, manifests: [{ platform: { os: 'linux', architecture: 'amd64' }, digest: 'sha256:cafe', config: 'sha256:c0' }], stored: ['app'], pushed: ['reg/app:1'], outputs: [] },
    buildRef: 'abc', durationMs: 2000, steps,
  })
  expect(m).toEqual({
    'containerimage.config.digest': 'sha256:c0',
    'containerimage.digest': 'sha256:cafe',
    'containerimage.descriptor': descriptor,
    'image.name': 'app,reg/app:1',
    'buildx.build.ref': 'abc',
    manifests: [{ platform: 'linux/amd64', digest: 'sha256:cafe', config: 'sha256:c0' }],
    durationMs: 2000,
    cache: { steps: 2, cached: 1 },
    steps: [
      { step: 1, digest: 'sha256:aa', name: '[1/2] FROM busybox', cache: 'hit', status: 'cached' },
      { step: 2, digest: 'sha256:bb', name: '[2/2] RUN make', cache: 'miss', missReason: 'no cache record for this step', status: 'completed', durationMs: 1200 },
    ],
  })
})

test('buildMetadata: image.name also lists the names written into archives, each name once', () => {
  const m = buildMetadata({ exported: { manifests: [], stored: ['app'], pushed: [], archived: ['docker.io/library/app:1', 'docker.io/library/app:1'], outputs: ['oci:x.tar'] }, durationMs: 1, steps: [] })
  expect(m['image.name']).toBe('app,docker.io/library/app:1')
})

test('buildMetadata: no config digest when the root is an index, even of one platform (attestations make one)', () => {
  const descriptor = { mediaType: 'application/vnd.oci.image.index.v1+json', digest: 'sha256:1d' as Digest, size: 300 }
  const m = buildMetadata({ exported: { descriptor, manifests: [{ platform: { os: 'linux', architecture: 'amd64' }, digest: 'sha256:cafe', config: 'sha256:c0' }], stored: [], pushed: [], outputs: [] }, durationMs: 1, steps: [] })
  expect(m['containerimage.digest']).toBe('sha256:1d')
  expect(m).not.toHaveProperty('containerimage.config.digest')
})

describe('createProgress', () => {
  test('tty on a pty that reports 0 columns is drawn 80 wide, as BuildKit does', () => {
    let text = ''
    const stderr = { isTTY: true, columns: 0, rows: 0, write: (s: string) => { text += s; return true } }
    const p = createProgress('tty', { stderr, stdout: stderr, env: { NO_COLOR: '1' } } as never)
    const name = '[linux/amd64 2/5] RUN echo a-step-name-that-is-long-enough-to-be-cut'
    p.handle({ type: 'vertex', digest: 'sha256:1' as Digest, name, status: 'started', time: 1 })
    p.handle({ type: 'vertex', digest: 'sha256:1' as Digest, name, status: 'completed', time: 2 })
    p.close()
    expect(text).toContain(name)
    expect(text).toContain('FINISHED')
  })
})
