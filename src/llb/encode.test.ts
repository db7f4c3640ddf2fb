import { describe, expect, test } from 'vitest'
import { canonicalJson, sha256, type Digest } from '../common/digest.js'
import { digestOf, encodeOp, encodeOpForCache } from './encode.js'
import type { CopyAction, ExecOp, FileActionSpec, FileOp, Mount, Op, SourceOp } from './ops.js'

const D1 = sha256('one')
const D2 = sha256('two')

const execOp: ExecOp = {
  kind: 'exec',
  inputs: [{ digest: D1, index: 0 }, { digest: D2, index: 0 }],
  platform: { os: 'linux', architecture: 'amd64' },
  meta: { args: ['sh', '-c', 'make'], env: ['PATH=/bin', 'A=1'], cwd: '/src', user: '', extraHosts: [], secretEnv: [] },
  mounts: [
    { type: 'bind', dest: '/', input: 0, output: 0, readonly: false },
    { type: 'bind', dest: '/out', input: 1, output: 1, readonly: false },
    { type: 'cache', dest: '/root/.cache', input: -1, output: -1, readonly: false, cacheId: 'make', sharing: 'shared' },
  ],
  network: 'default',
  security: 'sandbox',
}

const copyAction: CopyAction = {
  type: 'copy', src: '/app', dest: '/dst/', followSymlink: false, dirCopyContents: true, attemptUnpack: false, createDestPath: true,
  allowWildcard: true, allowEmptyWildcard: false, includePatterns: [], excludePatterns: [], alwaysReplaceExistingDestPaths: false, parents: false,
}
const fileOp: FileOp = {
  kind: 'file',
  inputs: [{ digest: D1, index: 0 }, { digest: D2, index: 0 }],
  actions: [
    { input: 0, secondaryInput: 1, output: -1, action: copyAction },
    { input: 2, secondaryInput: -1, output: 0, action: { type: 'mkdir', path: '/x', mode: 0o755, makeParents: true } },
  ],
}

const imageOp: SourceOp = {
  kind: 'source', identifier: 'docker-image://docker.io/library/alpine:3.20', inputs: [], platform: { os: 'linux', architecture: 'arm64' },
  attrs: { type: 'image', ref: 'docker.io/library/alpine:3.20', resolveMode: 'default' },
}
const localOp: SourceOp = {
  kind: 'source', identifier: 'local://context', inputs: [],
  attrs: { type: 'local', name: 'context', includePatterns: [], excludePatterns: ['*.log'], followPaths: ['a', 'b'] },
}

/**
 * The digest rule written out: sha256 of the canonical JSON of encodeOp,
 * where a non-empty exec env stands as the sha256 of its own canonical JSON.
 */
function expectedDigest (op: Op): Digest {
  const enc = encodeOp(op)
  const meta = enc['meta'] as Record<string, unknown> | undefined
  if (op.kind !== 'exec' || meta?.['env'] === undefined) return sha256(canonicalJson(enc))
  return sha256(canonicalJson({ ...enc, meta: { ...meta, env: sha256(canonicalJson(meta['env'])) } }))
}

/** Reverse the key order of every object, recursively. */
function reverseKeys<T> (v: T): T {
  if (Array.isArray(v)) return v.map(reverseKeys) as T
  if (v === null || typeof v !== 'object') return v
  return Object.fromEntries(Object.keys(v).reverse().map((k) => [k, reverseKeys((v as Record<string, unknown>)[k])])) as T
}

describe('digest stability', () => {
  test.each([['exec', execOp], ['file', fileOp], ['image', imageOp], ['local', localOp]] as Array<[string, Op]>)('%s: key order does not matter', (_, op) => {
    expect(digestOf(reverseKeys(op))).toBe(digestOf(op))
  })

  test.each([['exec', execOp], ['file', fileOp], ['image', imageOp], ['local', localOp]] as Array<[string, Op]>)('%s: encoding is canonical JSON', (_, op) => {
    const enc = encodeOp(op)
    expect(JSON.stringify(enc)).toBe(canonicalJson(enc))
    expect(digestOf(op)).toBe(expectedDigest(op))
  })

  test('an exec op without env digests the canonical JSON of encodeOp itself', () => {
    const op: ExecOp = { ...execOp, meta: { ...execOp.meta, env: [] } }
    expect(encodeOp(op)['meta']).not.toHaveProperty('env')
    expect(digestOf(op)).toBe(sha256(canonicalJson(encodeOp(op))))
  })

  test('encodeOp keeps the full env list for display', () => {
    expect((encodeOp(execOp)['meta'] as Record<string, unknown>)['env']).toEqual(execOp.meta.env)
  })

  test('defaults written out or left undefined give the same digest', () => {
    const sparse = {
      ...execOp,
      meta: { args: ['sh', '-c', 'make'], env: ['PATH=/bin', 'A=1'], cwd: '/src', user: '', hostname: undefined, proxyEnv: undefined, extraHosts: [], secretEnv: [] },
    }
    expect(digestOf(sparse)).toBe(digestOf(execOp))
    expect(digestOf({ ...execOp, meta: { ...execOp.meta, cwd: '/' } })).toBe(digestOf({ ...execOp, meta: { ...execOp.meta, cwd: '' } }))
    expect(digestOf({ ...imageOp, platform: { os: 'linux', architecture: 'aarch64', variant: 'v8' } })).toBe(digestOf(imageOp))
    expect(digestOf({ ...localOp, attrs: { ...localOp.attrs, followPaths: ['b', 'a', 'b'] } as SourceOp['attrs'] })).toBe(digestOf(localOp))
  })

  test('mount order does not matter; the explicit indices carry the meaning', () => {
    expect(digestOf({ ...execOp, mounts: [...execOp.mounts].reverse() })).toBe(digestOf(execOp))
  })

  test('frozen ops digest without being modified', () => {
    const frozen = deepFreeze(structuredClone(execOp))
    expect(digestOf(frozen)).toBe(digestOf(execOp))
  })
})

describe('exec ops with an environment digest their canonical JSON with the env digested', () => {
  // digestOf remembers env digests per list; every shape of the members
  // around env must still follow the rule.
  const sharedEnv = ['PATH=/bin', 'A=1']
  const cases: Array<[string, ExecOp]> = [
    ['plain', execOp],
    ['cwd omitted as /', { ...execOp, meta: { ...execOp.meta, cwd: '/' } }],
    ['no args, default cwd', { ...execOp, meta: { ...execOp.meta, args: [], cwd: '/' } }],
    ['every member after env', {
      ...execOp,
      meta: {
        ...execOp.meta, hostname: 'box', user: 'nobody', extraHosts: [{ host: 'db', ip: '10.0.0.2' }],
        proxyEnv: { httpProxy: 'http://p:3128' }, secretEnv: [{ id: 't', name: 'T', optional: true }, { id: 's', name: 'S', optional: false }],
        ulimits: [{ name: 'nofile', soft: 512, hard: 1024 }, { name: 'core', soft: -1, hard: -1 }],
      },
    }],
    ['no inputs, no mounts, no platform', { ...execOp, inputs: [], mounts: [], platform: undefined }],
    ['constraints, network, security', { ...execOp, constraints: { workerFilter: ['b', 'a'] }, network: 'host', security: 'insecure' }],
    ['empty constraints', { ...execOp, constraints: { workerFilter: [] } }],
    ['env with quotes and unicode', { ...execOp, meta: { ...execOp.meta, env: ['Q="x\\y"', 'U=\u00e9\u2028', 'NL=a\nb'] } }],
    ['shared env, first op', { ...execOp, meta: { ...execOp.meta, env: sharedEnv } }],
    ['shared env, other args', { ...execOp, meta: { ...execOp.meta, env: sharedEnv, args: ['true'] } }],
  ]
  test.each(cases)('%s', (_, op) => {
    expect(digestOf(op)).toBe(expectedDigest(op))
    expect(digestOf(deepFreeze(structuredClone(op)))).toBe(digestOf(op))
  })

  test('env lists that extend, shrink or reorder the previous one all follow the rule', () => {
    const lists = [['A=1'], ['A=1', 'B=2'], ['A=1', 'B=2', 'C="3"', 'D=\u00e9'], ['A=1'], ['B=2', 'A=1'], ['B=2', 'A=1', 'A=1'], ['X=1', 'A=1', 'B=2', 'C=3']]
    for (const env of lists) {
      const op: ExecOp = { ...execOp, meta: { ...execOp.meta, env } }
      expect(digestOf(op)).toBe(expectedDigest(op))
    }
  })

  test('an env array shared by several ops is encoded per op, not per first use', () => {
    const env = Object.freeze(['A=1', 'B=2'])
    const a: ExecOp = { ...execOp, meta: { ...execOp.meta, env } }
    const b: ExecOp = { ...execOp, meta: { ...execOp.meta, env, user: 'nobody' } }
    expect(digestOf(a)).not.toBe(digestOf(b))
    expect(digestOf(b)).toBe(expectedDigest(b))
  })

  test('equal env lists built separately give equal digests', () => {
    const a: ExecOp = { ...execOp, meta: { ...execOp.meta, env: ['A=1', 'B=2'] } }
    const b: ExecOp = { ...execOp, meta: { ...execOp.meta, env: ['A=1'].concat('B=2') } }
    expect(digestOf(a)).toBe(digestOf(b))
  })
})

function deepFreeze<T> (v: T): T {
  if (v !== null && typeof v === 'object') {
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k])
    Object.freeze(v)
  }
  return v
}

const withMount = (i: number, patch: Partial<Mount>): ExecOp => ({ ...execOp, mounts: execOp.mounts.map((m, j) => (j === i ? { ...m, ...patch } as Mount : m)) })
const withCopy = (patch: Partial<CopyAction>): FileOp => ({ ...fileOp, actions: [{ ...fileOp.actions[0]!, action: { ...copyAction, ...patch } }, fileOp.actions[1]!] })

describe('digest sensitivity: every output-affecting change gives a new digest', () => {
  const cases: Array<[string, Op, Op]> = [
    ['exec args', execOp, { ...execOp, meta: { ...execOp.meta, args: ['sh', '-c', 'make all'] } }],
    ['exec env value', execOp, { ...execOp, meta: { ...execOp.meta, env: ['PATH=/bin', 'A=2'] } }],
    ['exec env order', execOp, { ...execOp, meta: { ...execOp.meta, env: ['A=1', 'PATH=/bin'] } }],
    ['exec cwd', execOp, { ...execOp, meta: { ...execOp.meta, cwd: '/' } }],
    ['exec user', execOp, { ...execOp, meta: { ...execOp.meta, user: 'nobody' } }],
    ['exec hostname', execOp, { ...execOp, meta: { ...execOp.meta, hostname: 'box' } }],
    ['exec extra hosts', execOp, { ...execOp, meta: { ...execOp.meta, extraHosts: [{ host: 'db', ip: '10.0.0.2' }] } }],
    ['exec secret env', execOp, { ...execOp, meta: { ...execOp.meta, secretEnv: [{ id: 'tok', name: 'TOKEN', optional: false }] } }],
    ['exec proxy env', execOp, { ...execOp, meta: { ...execOp.meta, proxyEnv: { httpProxy: 'http://proxy:3128' } } }],
    ['exec ulimits', execOp, { ...execOp, meta: { ...execOp.meta, ulimits: [{ name: 'nofile', soft: 512, hard: 1024 }] } }],
    ['exec ulimit soft', execOp, { ...execOp, meta: { ...execOp.meta, ulimits: [{ name: 'nofile', soft: 256, hard: 1024 }] } }],
    ['exec ulimit hard', execOp, { ...execOp, meta: { ...execOp.meta, ulimits: [{ name: 'nofile', soft: 512, hard: 2048 }] } }],
    ['exec ulimit name', execOp, { ...execOp, meta: { ...execOp.meta, ulimits: [{ name: 'nproc', soft: 512, hard: 1024 }] } }],
    ['exec network', execOp, { ...execOp, network: 'none' }],
    ['exec security', execOp, { ...execOp, security: 'insecure' }],
    ['exec platform', execOp, { ...execOp, platform: { os: 'linux', architecture: 'arm64' } }],
    ['exec constraints', execOp, { ...execOp, constraints: { workerFilter: ['gpu'] } }],
    ['exec input digest', execOp, { ...execOp, inputs: [{ digest: D2, index: 0 }, { digest: D1, index: 0 }] }],
    ['exec input index', execOp, { ...execOp, inputs: [{ digest: D1, index: 1 }, { digest: D2, index: 0 }] }],
    ['mount readonly', execOp, withMount(1, { readonly: true })],
    ['mount selector', execOp, withMount(1, { selector: '/sub' })],
    ['mount output', execOp, withMount(1, { output: -1 })],
    ['mount input', execOp, withMount(1, { input: -1 })],
    ['mount dest', execOp, withMount(1, { dest: '/out2' })],
    ['cache id', execOp, withMount(2, { cacheId: 'other' } as Partial<Mount>)],
    ['cache sharing', execOp, withMount(2, { sharing: 'locked' } as Partial<Mount>)],
    ['mount type', execOp, withMount(1, { type: 'tmpfs' })],
    ['copy src', fileOp, withCopy({ src: '/app2' })],
    ['copy dest', fileOp, withCopy({ dest: '/dst' })],
    ['copy owner', fileOp, withCopy({ owner: { user: 1000, group: 1000 } })],
    ['copy mode', fileOp, withCopy({ mode: 0o644 })],
    ['copy followSymlink', fileOp, withCopy({ followSymlink: true })],
    ['copy dirCopyContents', fileOp, withCopy({ dirCopyContents: false })],
    ['copy attemptUnpack', fileOp, withCopy({ attemptUnpack: true })],
    ['copy createDestPath', fileOp, withCopy({ createDestPath: false })],
    ['copy allowWildcard', fileOp, withCopy({ allowWildcard: false })],
    ['copy allowEmptyWildcard', fileOp, withCopy({ allowEmptyWildcard: true })],
    ['copy include', fileOp, withCopy({ includePatterns: ['*.go'] })],
    ['copy exclude', fileOp, withCopy({ excludePatterns: ['*.md'] })],
    ['copy replace', fileOp, withCopy({ alwaysReplaceExistingDestPaths: true })],
    ['copy parents', fileOp, withCopy({ parents: true })],
    ['action input', fileOp, { ...fileOp, actions: [{ ...fileOp.actions[0]!, input: -1 }, fileOp.actions[1]!] }],
    ['action output', fileOp, { ...fileOp, actions: [{ ...fileOp.actions[0]!, output: 1 }, fileOp.actions[1]!] }],
    ['action order', fileOp, { ...fileOp, actions: [...fileOp.actions].reverse() }],
    ['mkdir mode', fileOp, { ...fileOp, actions: [fileOp.actions[0]!, { ...fileOp.actions[1]!, action: { type: 'mkdir', path: '/x', mode: 0o700, makeParents: true } }] }],
    ['image ref', imageOp, { ...imageOp, attrs: { type: 'image', ref: 'docker.io/library/alpine:3.21', resolveMode: 'default' } }],
    ['image platform variant', imageOp, { ...imageOp, platform: { os: 'linux', architecture: 'arm', variant: 'v6' } }],
    ['image resolve mode', imageOp, { ...imageOp, attrs: { type: 'image', ref: 'docker.io/library/alpine:3.20', resolveMode: 'pull' } }],
    ['local exclude', localOp, { ...localOp, attrs: { ...localOp.attrs, excludePatterns: ['*.tmp'] } as SourceOp['attrs'] }],
    ['local pattern order', localOp, { ...localOp, attrs: { ...localOp.attrs, excludePatterns: ['*', '!a'] } as SourceOp['attrs'] }],
  ]
  test.each(cases)('%s', (_, a, b) => {
    expect(digestOf(b)).not.toBe(digestOf(a))
  })

  test.each(cases)('%s: the digest text is the canonical form', (_, _a, b) => {
    expect(digestOf(b)).toBe(expectedDigest(b))
  })

  test.each([
    ['mkdir owner by name', { type: 'mkdir', path: '/x', mode: 0o700, makeParents: false, owner: { user: 'app', group: 'app' } }],
    ['mkfile', { type: 'mkfile', path: '/f', mode: 0o644, data: 'a"b\n', dataEncoding: 'utf8' }],
    ['rm', { type: 'rm', path: '/f', allowNotFound: true, allowWildcard: false }],
    ['symlink', { type: 'symlink', oldpath: '/a', newpath: '/b' }],
    ['copy with everything set', { ...copyAction, mode: 'u+x', owner: { user: 0 }, includePatterns: ['*.go'], excludePatterns: ['x'], followSymlink: true, parents: true, alwaysReplaceExistingDestPaths: true }],
  ] as Array<[string, FileActionSpec]>)('file action %s: the digest text is the canonical form', (_, action) => {
    const op: FileOp = { ...fileOp, platform: { os: 'linux', architecture: 'arm', variant: 'v7' }, constraints: { workerFilter: ['z', 'a'] }, actions: [{ input: 0, secondaryInput: -1, output: 0, action }] }
    expect(digestOf(op)).toBe(expectedDigest(op))
    expect(digestOf({ ...op, actions: [] })).toBe(expectedDigest({ ...op, actions: [] }))
  })

  test('exec mounts of every type and secret env with empty fields follow the canonical form', () => {
    const mounts: Mount[] = [
      { type: 'tmpfs', dest: '/tmp', input: -1, output: -1, readonly: false, size: 1024 },
      { type: 'secret', dest: '/run/s', input: -1, output: -1, readonly: true, secretId: 's', uid: 0, gid: 0, mode: 0o400, optional: false },
      { type: 'ssh', dest: '/run/ssh', input: -1, output: -1, readonly: true, sshId: 'default', uid: 0, gid: 0, mode: 0o600, optional: true },
      ...execOp.mounts,
    ] as Mount[]
    const op: ExecOp = { ...execOp, mounts, meta: { ...execOp.meta, args: [], env: [], proxyEnv: { httpProxy: '', noProxy: 'x' }, secretEnv: [{ id: '', name: 'B', optional: false }, { id: 'a', name: 'A', optional: true }] } }
    expect(digestOf(op)).toBe(expectedDigest(op))
  })

  test('all variants are pairwise distinct', () => {
    const digests = new Set<Digest>(cases.map(([, , b]) => digestOf(b)))
    expect(digests.size).toBe(cases.length)
  })
})

describe('encodeOpForCache', () => {
  test('drops inputs, proxy settings and extra-host IPs, keeps everything else', () => {
    const withProxy: ExecOp = {
      ...execOp,
      inputs: [{ digest: D2, index: 0 }, { digest: D1, index: 0 }],
      meta: { ...execOp.meta, proxyEnv: { httpProxy: 'http://p:3128' }, extraHosts: [{ host: 'db', ip: '10.0.0.9' }] },
    }
    const plain: ExecOp = { ...execOp, meta: { ...execOp.meta, extraHosts: [{ host: 'db', ip: '10.0.0.2' }] } }
    expect(encodeOpForCache(withProxy)).toEqual(encodeOpForCache(plain))
    expect(encodeOpForCache(plain)).not.toHaveProperty('inputs')
    expect(canonicalJson(encodeOpForCache(plain))).toBe(JSON.stringify(encodeOpForCache(plain)))
    expect(encodeOpForCache({ ...plain, meta: { ...plain.meta, extraHosts: [{ host: 'cache', ip: '10.0.0.2' }] } })).not.toEqual(encodeOpForCache(plain))
    expect(encodeOpForCache({ ...plain, meta: { ...plain.meta, args: ['true'] } })).not.toEqual(encodeOpForCache(plain))
  })
})

describe('exec ulimits', () => {
  const nofile = { name: 'nofile', soft: 512, hard: 1024 } as const
  const core = { name: 'core', soft: -1, hard: -1 } as const

  test('absent or empty: not encoded, so digests stay as they were', () => {
    expect(encodeOp({ ...execOp, meta: { ...execOp.meta, ulimits: [] } })).toEqual(encodeOp(execOp))
    expect(digestOf({ ...execOp, meta: { ...execOp.meta, ulimits: [] } })).toBe(digestOf(execOp))
    expect(encodeOp(execOp)['meta']).not.toHaveProperty('ulimits')
  })

  test('encoded by name, whatever order they were given in, with sorted keys', () => {
    const a: ExecOp = { ...execOp, meta: { ...execOp.meta, ulimits: [nofile, core] } }
    const b: ExecOp = { ...execOp, meta: { ...execOp.meta, ulimits: [core, nofile] } }
    expect((encodeOp(a)['meta'] as Record<string, unknown>)['ulimits']).toEqual([{ hard: -1, name: 'core', soft: -1 }, { hard: 1024, name: 'nofile', soft: 512 }])
    expect(digestOf(a)).toBe(digestOf(b))
    expect(JSON.stringify(encodeOp(a))).toBe(canonicalJson(encodeOp(a)))
    expect(digestOf(a)).toBe(expectedDigest(a))
  })

  test('are part of the cache key, unlike host IPs', () => {
    const hosts = [{ host: 'foo', ip: '10.1.2.3' }, { host: 'bar', ip: '::1' }]
    const op: ExecOp = { ...execOp, meta: { ...execOp.meta, extraHosts: hosts, ulimits: [nofile] } }
    const otherIps: ExecOp = { ...op, meta: { ...op.meta, extraHosts: [{ host: 'foo', ip: '10.9.9.9' }, { host: 'bar', ip: '::2' }] } }
    expect(encodeOpForCache(otherIps)).toEqual(encodeOpForCache(op))
    expect(digestOf(otherIps)).not.toBe(digestOf(op))
    expect((encodeOpForCache(op)['meta'] as Record<string, unknown>)['extraHosts']).toEqual([{ host: 'foo', ip: '' }, { host: 'bar', ip: '' }])
    expect(encodeOpForCache({ ...op, meta: { ...op.meta, ulimits: [{ ...nofile, soft: 256 }] } })).not.toEqual(encodeOpForCache(op))
    expect(encodeOpForCache({ ...op, meta: { ...op.meta, ulimits: [] } })).not.toEqual(encodeOpForCache(op))
  })
})
