import { describe, expect, test } from 'vitest'
import { hasCode } from '../common/errors.js'
import * as llb from './index.js'
import type { Definition, ExecOp, FileOp, Op } from './index.js'

/** The head op of a definition, narrowed to the expected kind. */
function headOp<K extends Op['kind']> (def: Definition, kind: K): Extract<Op, { kind: K }> {
  const op = def.ops.get(def.head!.digest)!
  expect(op.kind).toBe(kind)
  return op as Extract<Op, { kind: K }>
}

describe('immutability', () => {
  test('every builder call on a frozen State returns a new State and leaves the original as it was', () => {
    const base = Object.freeze(llb.image('alpine:3.20'))
    const before = llb.formatDefinition(base.marshal({ platform: 'linux/amd64' }))
    const derived = [
      base.dir('/src'), base.addEnv('A', '1'), base.delEnv('A'), base.user('nobody'), base.platform('linux/arm64'),
      base.hostname('h'), base.network('none'), base.security('insecure'), base.addExtraHost('db', '10.0.0.2'),
      base.run({ args: ['true'] }), base.run({ args: ['true'] }).root(), base.file(llb.mkdir('/x', 0o755)),
      base.withCustomName('n'), base.withDescription({ k: 'v' }), base.withLocation({ file: 'Dockerfile', ranges: [] }),
    ]
    for (const d of derived) expect(d).not.toBe(base)
    expect(base.getDir()).toBe('/')
    expect(base.env()).toEqual([])
    expect(base.getUser()).toBe('')
    expect(llb.formatDefinition(base.marshal({ platform: 'linux/amd64' }))).toBe(before)
  })

  test('ops in a Definition can be deep-frozen and marshalled again to the same result', () => {
    const st = Object.freeze(llb.image('alpine').run({ args: ['true'], mounts: [llb.cacheMount('/c')] }).root())
    const a = st.marshal({ platform: 'linux/amd64' })
    for (const op of a.ops.values()) deepFreeze(op)
    expect([...st.marshal({ platform: 'linux/amd64' }).ops.keys()]).toEqual([...a.ops.keys()])
  })
})

function deepFreeze (v: unknown): void {
  if (v !== null && typeof v === 'object') { for (const x of Object.values(v)) deepFreeze(x); Object.freeze(v) }
}

describe('state values', () => {
  test('dir resolves relative paths against the current one', () => {
    expect(llb.scratch().dir('/a').dir('b/../c').getDir()).toBe('/a/c')
    expect(llb.scratch().dir('/a').dir('/x').getDir()).toBe('/x')
  })

  test('addEnv replaces an existing key and moves it last', () => {
    const st = llb.scratch().addEnv('A', '1').addEnv('B', '2').addEnv('A', '3')
    expect(st.env()).toEqual(['B=2', 'A=3'])
    expect(st.getEnv('A')).toBe('3')
    expect(st.delEnv('B').env()).toEqual(['A=3'])
  })

  test('run takes env, cwd, user, network, hostname and platform from the State', () => {
    const st = llb.image('alpine').platform('linux/arm64').dir('/w').addEnv('A', '1').user('app').hostname('h').network('host')
      .run({ shlex: 'echo "a b" c', env: { B: '2' } })
    const op = headOp(st.marshal({ platform: 'linux/amd64' }), 'exec')
    expect(op.meta).toMatchObject({ args: ['echo', 'a b', 'c'], env: ['A=1', 'B=2'], cwd: '/w', user: 'app', hostname: 'h' })
    expect(op.network).toBe('host')
    expect(op.platform).toEqual({ os: 'linux', architecture: 'arm64' })
  })

  test('run without a command is a user error', () => {
    expect(() => llb.scratch().run({ args: [] })).toThrow(/needs a command/)
  })
})

describe('exec mounts', () => {
  const out = llb.scratch()
  const ctx = llb.local('context')
  const st = llb.image('alpine').dir('/src').run({
    args: ['make'],
    mounts: [
      llb.mount('out', out),
      llb.cacheMount('/root/.cache', { id: 'go', sharing: 'locked' }),
      llb.mount('/ctx', ctx, { readonly: true, selector: 'sub' }),
      llb.mount('/a-first', ctx),
      llb.tmpfsMount('/tmp', { size: 1 << 20 }),
      llb.secretMount('/run/secrets/tok'),
      llb.sshMount(),
    ],
  })
  const op = headOp(st.marshal({ platform: 'linux/amd64' }), 'exec')

  test('mounts are sorted by dest; root is output 0 and writable binds follow in order', () => {
    expect(op.mounts.map((m) => [m.dest, m.output])).toEqual([
      ['/', 0], ['/a-first', 1], ['/ctx', -1], ['/root/.cache', -1], ['/run/buildkit/ssh_agent.0', -1], ['/run/secrets/tok', -1],
      ['/src/out', 2], ['/tmp', -1],
    ])
  })

  test('the same source mounted twice is one input', () => {
    expect(op.inputs).toHaveLength(2) // alpine, context; scratch has no input
    const byDest = new Map(op.mounts.map((m) => [m.dest, m]))
    expect(byDest.get('/ctx')!.input).toBe(byDest.get('/a-first')!.input)
    expect(byDest.get('/src/out')!.input).toBe(-1)
    expect(byDest.get('/ctx')).toMatchObject({ readonly: true, selector: 'sub' })
    expect(byDest.get('/run/secrets/tok')).toMatchObject({ type: 'secret', secretId: 'tok', mode: 0o400, uid: 0 })
    expect(byDest.get('/root/.cache')).toMatchObject({ type: 'cache', cacheId: 'go', sharing: 'locked' })
  })

  test('getMount gives the output of a writable mount, relative dest resolved against cwd', () => {
    expect(st.getMount('out').output()!.index).toBe(2)
    expect(st.getMount('/src/out').output()!.index).toBe(2)
    expect(st.root().output()!.index).toBe(0)
  })

  test.each(['/ctx', '/tmp', '/root/.cache', '/nope'])('getMount(%s) refuses a mount without an output', (dest) => {
    expect(() => st.getMount(dest)).toThrow(/no writable mount/)
  })

  test('two mounts on one destination are refused', () => {
    let err: unknown
    try { llb.scratch().run({ args: ['x'], mounts: [llb.tmpfsMount('/t'), llb.cacheMount('/t')] }) } catch (e) { err = e }
    expect(hasCode(err, 'INVALID_INSTRUCTION')).toBe(true)
  })
})

describe('file actions', () => {
  test('paths resolve against the target and source working directories; trailing slash kept on dest', () => {
    const src = llb.local('context').dir('/sub')
    const st = llb.image('alpine').dir('/app').file(
      llb.copy(src, 'a.txt', './').mkdir('d', 0o700, { makeParents: true }).mkfile('d/f', 0o644, 'hi').symlink('f', 'd/l').rm('old', { allowNotFound: true }),
    )
    const op = headOp(st.marshal({ platform: 'linux/amd64' }), 'file')
    expect(op.actions.map((a) => a.action)).toEqual([
      expect.objectContaining({ type: 'copy', src: '/sub/a.txt', dest: '/app/' }),
      { type: 'mkdir', path: '/app/d', mode: 0o700, makeParents: true },
      { type: 'mkfile', path: '/app/d/f', mode: 0o644, data: 'hi', dataEncoding: 'utf8' },
      { type: 'symlink', oldpath: 'f', newpath: '/app/d/l' },
      { type: 'rm', path: '/app/old', allowNotFound: true, allowWildcard: false },
    ])
  })

  test('actions chain: each takes the previous result, only the last is an output', () => {
    const st = llb.image('alpine').file(llb.mkdir('/a', 0o755).copy(llb.local('context'), '/', '/a/'))
    const op: FileOp = headOp(st.marshal({ platform: 'linux/amd64' }), 'file')
    expect(op.inputs).toHaveLength(2)
    expect(op.actions.map((a) => [a.input, a.secondaryInput, a.output])).toEqual([[0, -1, -1], [2, 1, 0]])
    expect(op.platform).toBeUndefined()
  })

  test('on scratch the first action starts from an empty directory', () => {
    const op = headOp(llb.scratch().file(llb.mkfile('/f', 0o600, new Uint8Array([0xff, 0x00]))).marshal(), 'file')
    expect(op.inputs).toEqual([])
    expect(op.actions[0]).toMatchObject({ input: -1, action: { data: '/wA=', dataEncoding: 'base64' } })
  })

  test('equal text given as string or bytes gives one digest', () => {
    const a = llb.scratch().file(llb.mkfile('/f', 0o644, 'héllo')).marshal().head
    const b = llb.scratch().file(llb.mkfile('/f', 0o644, new TextEncoder().encode('héllo'))).marshal().head
    expect(a).toEqual(b)
  })
})

describe('sources', () => {
  test.each([
    ['alpine', 'docker-image://docker.io/library/alpine:latest'],
    ['docker.io/library/alpine:latest', 'docker-image://docker.io/library/alpine:latest'],
    ['index.docker.io/library/alpine', 'docker-image://docker.io/library/alpine:latest'],
  ])('image(%s) has identifier %s', (ref, id) => {
    const op = headOp(llb.image(ref).marshal({ platform: 'linux/amd64' }), 'source')
    expect(op.identifier).toBe(id)
  })

  test('image platform: explicit option wins over the marshal default and sets the State platform', () => {
    const st = llb.image('alpine', { platform: 'linux/arm64' })
    expect(st.getPlatform()).toEqual({ os: 'linux', architecture: 'arm64' })
    expect(headOp(st.marshal({ platform: 'linux/amd64' }), 'source').platform).toEqual({ os: 'linux', architecture: 'arm64' })
    expect(headOp(llb.image('alpine').marshal({ platform: 'linux/arm/v7' }), 'source').platform).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' })
  })

  test('follow paths given as a function are read when the graph is marshalled', () => {
    const paths: string[] = []
    const st = llb.local('context', { followPaths: () => [...paths] })
    paths.push('b', 'a')
    expect(headOp(st.marshal(), 'source')).toMatchObject({ attrs: { followPaths: ['b', 'a'] } })
    const d1 = st.marshal().head!.digest
    expect(d1).toBe(llb.local('context', { followPaths: ['a', 'b'] }).marshal().head!.digest)
  })

  test('local, http and git sources are platform-independent and carry their attrs', () => {
    const l = headOp(llb.local('context', { excludePatterns: ['*.log'], followPaths: ['Dockerfile'], sharedKeyHint: 'ctx' }).marshal({ platform: 'linux/arm64' }), 'source')
    expect(l).toMatchObject({ identifier: 'local://context', attrs: { excludePatterns: ['*.log'], followPaths: ['Dockerfile'], sharedKeyHint: 'ctx' } })
    expect(l.platform).toBeUndefined()
    const sum = `sha256:${'a'.repeat(64)}`
    const h = headOp(llb.http('https://example.com/x.tgz', { checksum: sum, filename: 'x', chmod: 0o644 }).marshal(), 'source')
    expect(h).toMatchObject({ identifier: 'https://example.com/x.tgz', attrs: { type: 'http', checksum: sum, filename: 'x', chmod: 0o644 } })
    const g = headOp(llb.git('https://github.com/moby/buildkit.git', 'v0.13.0', { subdir: 'docs', keepGitDir: true }).marshal(), 'source')
    expect(g).toMatchObject({ identifier: 'git://github.com/moby/buildkit.git#v0.13.0:docs', attrs: { type: 'git', ref: 'v0.13.0', subdir: 'docs', keepGitDir: true } })
    expect(g.platform).toBeUndefined()
  })

  test('bad references and checksums are user errors', () => {
    expect(() => llb.image('Alpine')).toThrow(/invalid image reference/)
    expect(() => llb.http('https://x/y', { checksum: 'md5:1' })).toThrow(/invalid digest/)
    expect(() => llb.http('ftp://x/y')).toThrow(/http/)
  })
})

describe('merge and diff', () => {
  test('merge keeps input order, skips scratch, and collapses trivial cases', () => {
    const a = llb.image('alpine')
    const b = llb.local('context')
    const op = headOp(llb.merge([a, llb.scratch(), b]).marshal({ platform: 'linux/amd64' }), 'merge')
    expect(op.inputs).toHaveLength(2)
    expect(llb.merge([llb.scratch(), b])).toBe(b)
    expect(llb.merge([llb.scratch()]).isScratch()).toBe(true)
  })

  test('diff records lower and upper; scratch lower is -1', () => {
    const base = llb.image('alpine')
    const upper = base.run({ args: ['touch', '/x'] }).root()
    const op = headOp(llb.diff(base, upper).marshal({ platform: 'linux/amd64' }), 'diff')
    expect([op.lower, op.upper]).toEqual([0, 1])
    const op2 = headOp(llb.diff(llb.scratch(), upper).marshal({ platform: 'linux/amd64' }), 'diff')
    expect([op2.lower, op2.upper, op2.inputs.length]).toEqual([-1, 0, 1])
    expect(llb.diff(llb.scratch(), llb.scratch()).isScratch()).toBe(true)
  })
})

test('an exec built by the builder and one written by hand have the same digest', () => {
  const def = llb.image('alpine').run({ args: ['true'] }).marshal({ platform: 'linux/amd64' })
  const [imageDigest] = [...def.ops.keys()]
  const byHand: ExecOp = {
    security: 'sandbox', network: 'default',
    mounts: [{ readonly: false, output: 0, input: 0, dest: '/', type: 'bind' }],
    meta: { secretEnv: [], extraHosts: [], user: '', cwd: '/', env: [], args: ['true'] },
    platform: { architecture: 'amd64', os: 'linux' },
    inputs: [{ index: 0, digest: imageDigest! }],
    kind: 'exec',
  }
  expect(llb.digestOf(byHand)).toBe(def.head!.digest)
})

test('run ulimits go into the exec meta; none leaves the meta without them', () => {
  const ulimits = [{ name: 'nofile', soft: 512, hard: 1024 }] as const
  const limited = headOp(llb.image('alpine').run({ args: ['true'], ulimits }).marshal({ platform: 'linux/amd64' }), 'exec')
  expect(limited.meta.ulimits).toEqual(ulimits)
  const plain = headOp(llb.image('alpine').run({ args: ['true'], ulimits: [] }).marshal({ platform: 'linux/amd64' }), 'exec')
  expect(plain.meta).not.toHaveProperty('ulimits')
})
