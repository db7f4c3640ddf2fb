import { chmodSync } from 'node:fs'
import { mkdtemp, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { sha256, type Digest } from '../../common/digest.js'
import type { CacheKey } from '../../cache/records/index.js'
import { scanContext } from '../context/index.js'
import { makeTree, writeTree } from '../context/testContext.js'
import type { Op } from '../../llb/index.js'
import type { KeyFacts, SolverVertex } from '../scheduler/index.js'
import { explainMiss, type CompareContext } from './compare.js'
import { Explainer } from './explainer.js'
import { inlineDocumentFacts, instructionOf, opFacts, stepIdentity, type StepFacts } from './facts.js'
import { changedFiles, selectedFiles } from './files.js'
import { formatExplanations } from './format.js'

const d = (s: string): Digest => sha256(s)
const facts = (over: Partial<StepFacts> = {}): StepFacts => ({
  step: '[2]', name: '[2/3] RUN make', key: d('k1'), op: d('op1'), inputs: [d('in1')], inputNames: ['[1/3] FROM busybox'],
  facts: { cmd: 'RUN make' }, ...over,
})
const ctx = (over: Partial<CompareContext> = {}): CompareContext => ({ buildArgs: new Set(['VERSION']), ignoreCache: false, parentRan: false, hadPreviousBuild: true, ...over })

describe('explainMiss', () => {
  test.each<[string, StepFacts | undefined, StepFacts, Partial<CompareContext>, string]>([
    ['no earlier build', undefined, facts(), { hadPreviousBuild: false }, 'first build'],
    ['no earlier build here, caches imported: the step itself', undefined, facts(), { hadPreviousBuild: false, hasImportedCache: true }, 'no cache record here or in the imported cache'],
    ['no earlier build here, caches imported: below a step that ran', undefined, facts(), { hadPreviousBuild: false, hasImportedCache: true, parentRan: true }, 'parent step re-ran'],
    ['a step the last build did not have', undefined, facts(), {}, 'new step (not in the last build)'],
    ['--no-cache', facts(), facts(), { ignoreCache: true }, '--no-cache'],
    ['same key, record gone', facts(), facts(), {}, 'cache record was removed since the last build (prune or garbage collection)'],
    ['base image', facts({ facts: { image: 'busybox@sha256:' + 'a'.repeat(64) } }), facts({ key: d('k2'), op: d('op2'), facts: { image: 'busybox@sha256:' + 'b'.repeat(64) } }), {},
      'base image digest changed (sha256:aaaaaaaaaaaa → sha256:bbbbbbbbbbbb)'],
    ['build arg', facts({ facts: { cmd: 'RUN make', 'env:VERSION': '1' } }), facts({ key: d('k2'), op: d('op2'), facts: { cmd: 'RUN make', 'env:VERSION': '2' } }), {}, 'build arg VERSION changed'],
    ['env', facts({ facts: { cmd: 'RUN make' } }), facts({ key: d('k2'), op: d('op2'), facts: { cmd: 'RUN make', 'env:CC': 'gcc' } }), {}, 'ENV CC changed'],
    ['instruction', facts(), facts({ key: d('k2'), op: d('op2'), facts: { cmd: 'RUN make all' } }), {}, 'instruction changed'],
    ['--ulimit', facts({ facts: { cmd: 'RUN make', '--ulimit': 'nofile=512:1024' } }), facts({ key: d('k2'), op: d('op2'), facts: { cmd: 'RUN make', '--ulimit': 'nofile=256:1024' } }), {}, '--ulimit changed'],
    ['--shm-size given', facts(), facts({ key: d('k2'), op: d('op2'), facts: { cmd: 'RUN make', '--shm-size': '134217728' } }), {}, '--shm-size changed'],
    ['a RUN whose own text changed its /dev/shm mount', facts({ facts: { cmd: 'RUN --mount=type=tmpfs,target=/dev/shm,size=1m make', '--shm-size': '1048576' } }),
      facts({ key: d('k2'), op: d('op2'), facts: { cmd: 'RUN --mount=type=tmpfs,target=/dev/shm,size=2m make', '--shm-size': '2097152' } }), {}, 'instruction changed'],
    ['parent re-ran', facts(), facts({ key: d('k2'), inputs: [d('in2')] }), { parentRan: true }, 'parent step re-ran'],
    ['same key, run because a step below ignores the cache', facts(), facts(), { isForcedByParent: true }, 'parent step re-ran'],
    ['--no-cache-filter', facts(), facts(), { ignoreCache: true, isNoCacheFilter: true }, '--no-cache-filter'],
    ['files', facts({ facts: { 'files:/src': JSON.stringify({ 'a.ts': '1', 'b.ts': '1', 'c.ts': '1', 'd.ts': '1', 'e.ts': '1' }) } }),
      facts({ key: d('k2'), inputs: [d('in2')], facts: { 'files:/src': JSON.stringify({ 'a.ts': '2', 'b.ts': '2', 'c.ts': '1', 'd.ts': '2', 'f.ts': '1' }) } }), {},
      'files changed under COPY src: a.ts, b.ts, d.ts (+2 more)'],
    ['the whole context', facts({ facts: { 'files:/': JSON.stringify({ a: '1' }) } }), facts({ key: d('k2'), inputs: [d('in2')], facts: { 'files:/': JSON.stringify({ a: '2' }) } }), {},
      'files changed under COPY .: a'],
    ['a bind mount of the context', facts({ facts: { 'mounted:/scripts': JSON.stringify({ 'scripts/run.sh': '1' }) } }),
      facts({ key: d('k2'), inputs: [d('in2')], facts: { 'mounted:/scripts': JSON.stringify({ 'scripts/run.sh': '2' }) } }), {},
      'files changed under the bind mount of scripts: scripts/run.sh'],
    ['same key, the last build failed there', facts({ incomplete: true }), facts(), {}, 'the last build did not finish this step (it failed or was cancelled)'],
    ['ADD is named as written', facts({ facts: { cmd: 'ADD layer.tar /', 'files:/layer.tar': JSON.stringify({ 'layer.tar': '1' }) } }),
      facts({ key: d('k2'), inputs: [d('in2')], facts: { cmd: 'ADD layer.tar /', 'files:/layer.tar': JSON.stringify({ 'layer.tar': '2' }) } }), {},
      'files changed under ADD layer.tar: layer.tar'],
    ['the step number now holds another instruction: no ENV compared', facts({ facts: { cmd: 'RUN make', 'env:H': '1' } }),
      facts({ key: d('k2'), op: d('op2'), facts: { cmd: 'COPY a /a', 'files:/a': '{}' } }), {}, 'instruction changed'],
    ['a heredoc whose document changed, below a step that ran', facts({ facts: { cmd: 'COPY <<EOF /f', 'heredoc:/EOF': 'a' } }),
      facts({ key: d('k2'), inputs: [d('in2')], facts: { cmd: 'COPY <<EOF /f', 'heredoc:/EOF': 'b' } }), { parentRan: true }, 'heredoc <<EOF changed'],
    ['an automatic platform arg is an arg', facts({ facts: { 'env:TARGETARCH': 'amd64' } }), facts({ key: d('k2'), op: d('op2'), facts: { 'env:TARGETARCH': 'arm64' } }), { buildArgs: new Set() },
      'build arg TARGETARCH changed'],
  ])('%s', (_, prev, cur, over, summary) => {
    expect(explainMiss(prev, cur, ctx(over)).summary).toBe(summary)
  })

  test('changes carry the old and new values', () => {
    const r = explainMiss(facts({ facts: { 'env:VERSION': '1' } }), facts({ key: d('k2'), op: d('op2'), facts: { 'env:VERSION': '2' } }), ctx())
    expect(r.changes).toEqual([{ what: 'build arg VERSION', old: '1', new: '2' }])
  })
})

test.each([
  ['[linux/amd64 build 3/5] RUN make', '[linux/amd64 build 3]'],
  ['[2/3] COPY . /src', '[2]'],
  ['[internal] load build context', '[internal] load build context'],
])('stepIdentity(%j)', (name, id) => { expect(stepIdentity(name)).toBe(id) })

test('selectedFiles lists what a COPY selects, and changedFiles names the differences', async () => {
  const root = makeTree({ 'src/a.ts': 'a', 'src/lib/b.ts': 'b', 'other.txt': 'o', 'src/link': { symlink: 'a.ts' } })
  const before = selectedFiles(await scanContext(root), '/src', { followSymlinks: true, wildcard: true })
  expect(Object.keys(before).sort()).toEqual(['src/', 'src/a.ts', 'src/lib/', 'src/lib/b.ts', 'src/link'])
  writeTree(root, { 'src/lib/b.ts': 'b2', 'src/new.ts': 'n', 'other.txt': 'o2' })
  const after = selectedFiles(await scanContext(root), '/src', { followSymlinks: true, wildcard: true })
  expect(changedFiles(before, after)).toEqual(['src/lib/b.ts', 'src/new.ts'])
  // A directory alone changing (a new empty one, a mode) is named too.
  writeTree(root, { 'src/empty/': null })
  chmodSync(join(root, 'src/lib'), 0o700)
  const dirs = selectedFiles(await scanContext(root), '/src', { followSymlinks: true, wildcard: true })
  expect(changedFiles(after, dirs)).toEqual(['src/empty/', 'src/lib/'])
  expect(Object.keys(selectedFiles(await scanContext(root), '/src/*.ts', { followSymlinks: true, wildcard: true })).sort()).toEqual(['src/a.ts', 'src/new.ts'])
})

describe('Explainer', () => {
  const vertex = (name: string, inputs: SolverVertex[] = []): SolverVertex => ({
    digest: d(name), name, inputs, ignoreCache: false, op: { resource: 'none', cacheMap: async () => ({ digest: d(name), deps: [] }), exec: async () => ({}) },
  })
  const key = (v: SolverVertex, k: string, explain: Record<string, string> = {}, deps: KeyFacts['deps'] = []): KeyFacts =>
    ({ key: d(k) as CacheKey, op: d(`op ${v.name}`), deps, explain })

  test('compares with the last build of the same identity and persists across builds', async () => {
    const root = await mkdtemp(join(tmpdir(), 'tsbuild-explain-'))
    const identity = { dockerfile: '/ctx/Dockerfile', platforms: ['linux/amd64'] }
    const opts = { buildArgs: new Set<string>(), ops: new Map() }
    const base = vertex('[1/2] FROM busybox')
    const run = vertex('[2/2] RUN make', [base])

    const first = await Explainer.open(root, identity, opts)
    first.onKey(base, key(base, 'b1', { image: 'busybox@sha256:' + '1'.repeat(64) }))
    first.onKey(run, key(run, 'r1', {}, [{ key: d('b1') as CacheKey }]))
    expect(first.missReason(base, { parentRan: false })).toBe('first build')
    expect(first.missReason(run, { parentRan: true })).toBe('first build')
    await first.save()

    const second = await Explainer.open(root, identity, opts)
    second.onKey(base, key(base, 'b2', { image: 'busybox@sha256:' + '2'.repeat(64) }))
    second.onKey(run, key(run, 'r2', {}, [{ key: d('b2') as CacheKey }]))
    expect(second.missReason(base, { parentRan: false })).toMatch(/^base image digest changed/)
    expect(second.missReason(run, { parentRan: true })).toBe('parent step re-ran')
    const text = formatExplanations(second.explanations(), second.previousBuildTime)
    expect(text).toMatch(/^cache explanation: compared with the build of \d{4}-/)
    expect(text).toContain('MISS [1/2] FROM busybox: base image digest changed')
    expect(text).toContain(`base image: busybox@sha256:${'1'.repeat(64)} → busybox@sha256:${'2'.repeat(64)}`)
    await second.save()

    const third = await Explainer.open(root, identity, opts)
    third.onKey(base, key(base, 'b2', { image: 'busybox@sha256:' + '2'.repeat(64) }))
    third.markCached(base.digest)
    expect(third.explanations()).toEqual([{ step: '[1]', name: '[1/2] FROM busybox', status: 'cached', changes: [] }])
    const other = await Explainer.open(root, { ...identity, target: 'dev' }, opts)
    other.onKey(base, key(base, 'b2'))
    expect(other.missReason(base, { parentRan: false })).toBe('first build')
    expect(await readdir(join(root, 'explain'))).toHaveLength(1)
  })
})

describe('opFacts', () => {
  test('a RUN\'s --ulimit, --add-host names and /dev/shm size are facts; host IPs are not', () => {
    const op = {
      kind: 'exec', inputs: [], meta: { args: [], env: ['A=1'], cwd: '/', user: '', extraHosts: [{ host: 'db', ip: '10.0.0.1' }], secretEnv: [], ulimits: [{ name: 'nofile', soft: 512, hard: 1024 }, { name: 'core', soft: -1, hard: -1 }] },
      mounts: [{ type: 'tmpfs', dest: '/dev/shm', input: -1, output: -1, readonly: false, size: 134217728 }], network: 'default', security: 'sandbox',
    } as unknown as Parameters<typeof opFacts>[0]
    expect(opFacts(op, '[1/2] RUN make')).toEqual({ cmd: 'RUN make', 'env:A': '1', '--ulimit': 'core=-1:-1 nofile=512:1024', '--add-host': 'db', '--shm-size': '134217728' })
  })
})

describe('heredoc facts', () => {
  const mkfile = (path: string, data: string) => ({ input: -1, secondaryInput: -1, output: 0, action: { type: 'mkfile', path, mode: 0o644, data, dataEncoding: 'utf8' } })
  const op = (...actions: unknown[]) => ({ kind: 'file', inputs: [], actions }) as unknown as Op
  test('a step that only writes documents has a content digest per document, and no text', () => {
    const f = inlineDocumentFacts(op(mkfile('/EOF', 'token-like text')))
    expect(Object.keys(f)).toEqual(['heredoc:/EOF'])
    expect(f['heredoc:/EOF']).toMatch(/^[0-9a-f]{16}$/)
    expect(inlineDocumentFacts(op(mkfile('/EOF', 'other')))['heredoc:/EOF']).not.toBe(f['heredoc:/EOF'])
    expect(inlineDocumentFacts(op(mkfile('/EOF', 'x'), { input: 0, secondaryInput: -1, output: 0, action: { type: 'rm', path: '/y' } }))).toEqual({})
  })
  test('instructionOf', () => {
    expect(instructionOf('ADD a /')).toBe('ADD')
    expect(instructionOf('preparing inline document')).toBeUndefined()
  })
  test('the step reading a heredoc carries its document\'s digest, so a changed document is named', async () => {
    const root = await mkdtemp(join(tmpdir(), 'tsbuild-explain-'))
    const docVertex = (name: string): SolverVertex => ({ digest: d(name), name, inputs: [], ignoreCache: false, op: { resource: 'none', cacheMap: async () => ({ digest: d(name), deps: [] }), exec: async () => ({}) } })
    const run = async (text: string): Promise<string | undefined> => {
      const doc = docVertex(`[internal] preparing inline document ${text}`)
      const copy: SolverVertex = { ...docVertex('[2/2] COPY <<EOF /f'), inputs: [doc] }
      const ex = await Explainer.open(root, { dockerfile: '/ctx/Dockerfile', platforms: [] }, { buildArgs: new Set(), ops: new Map([[doc.digest, op(mkfile('/EOF', text))]]) })
      ex.onKey(copy, { key: d(`copy ${text}`) as CacheKey, op: d('copy op'), deps: [{ key: d(`doc ${text}`) as CacheKey }] })
      const reason = ex.missReason(copy, { parentRan: true })
      await ex.save()
      return reason
    }
    expect(await run('one')).toBe('first build')
    expect(await run('two')).toBe('heredoc <<EOF changed')
  })
})
