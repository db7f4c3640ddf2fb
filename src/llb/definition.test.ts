import { describe, expect, test } from 'vitest'
import type { Digest } from '../common/digest.js'
import * as llb from './index.js'
import type { Definition, MultiDefinition } from './index.js'

/** Every op appears after all of its inputs. */
function expectTopological (def: Definition | MultiDefinition): void {
  const seen = new Set<Digest>()
  for (const [d, op] of def.ops) {
    for (const e of op.inputs) expect(seen.has(e.digest), `${d} before its input ${e.digest}`).toBe(true)
    seen.add(d)
  }
}

describe('marshal', () => {
  test('equal ops built separately are one vertex; their metadata is merged', () => {
    const a = llb.image('alpine', { customName: 'base A', locations: [{ file: 'Dockerfile', ranges: [{ start: { line: 1, character: 0 }, end: { line: 1, character: 11 } }] }] })
    const b = llb.image('docker.io/library/alpine:latest', {
      ignoreCache: true,
      locations: [{ file: 'Dockerfile', ranges: [{ start: { line: 5, character: 0 }, end: { line: 5, character: 11 } }] }],
    })
    const def = llb.merge([a.file(llb.mkdir('/a', 0o755)), b.file(llb.mkdir('/b', 0o755))]).marshal({ platform: 'linux/amd64' })
    expect(def.ops.size).toBe(4) // one image, two file ops, the merge
    expectTopological(def)
    const image = [...def.ops].find(([, op]) => op.kind === 'source')![0]
    expect(def.metadata.get(image)).toEqual({
      customName: 'base A',
      ignoreCache: true,
      locations: [
        { file: 'Dockerfile', ranges: [{ start: { line: 1, character: 0 }, end: { line: 1, character: 11 } }] },
        { file: 'Dockerfile', ranges: [{ start: { line: 5, character: 0 }, end: { line: 5, character: 11 } }] },
      ],
    })
    expect([...def.metadata.keys()]).toEqual([...def.ops.keys()])
  })

  test('metadata never changes a digest', () => {
    const plain = llb.image('alpine').run({ args: ['make'] }).root()
    const named = llb.image('alpine', { customName: 'x', description: { 'llb.customname': 'x' } })
      .run({ args: ['make'], customName: '[2/2] RUN make', ignoreCache: true, progressGroup: { id: 'g', name: 'group' } }).root()
      .withLocation({ file: 'Dockerfile', ranges: [] })
    const a = plain.marshal({ platform: 'linux/amd64' })
    const b = named.marshal({ platform: 'linux/amd64' })
    expect([...b.ops.keys()]).toEqual([...a.ops.keys()])
    expect(b.metadata.get(b.head!.digest)).toMatchObject({ customName: '[2/2] RUN make', ignoreCache: true, locations: [{ file: 'Dockerfile' }] })
  })

  test('withCustomName on a State names the op it points at', () => {
    const def = llb.image('alpine').withCustomName('[base] FROM alpine').marshal()
    expect(def.metadata.get(def.head!.digest)).toEqual({ customName: '[base] FROM alpine' })
  })

  test('scratch marshals to an empty definition', () => {
    expect(llb.scratch().marshal()).toEqual({ ops: new Map(), metadata: new Map(), head: null })
  })

  test('diamond graphs keep one copy of the shared part, in topological order', () => {
    const base = llb.image('alpine').run({ args: ['setup'] }).root()
    const left = base.run({ args: ['left'] }).root()
    const right = base.run({ args: ['right'] }).root()
    const def = left.file(llb.copy(right, '/out', '/out')).marshal({ platform: 'linux/amd64' })
    expect(def.ops.size).toBe(5)
    expectTopological(def)
    expect(def.head!.digest).toBe([...def.ops.keys()].at(-1))
  })

  test('the marshal platform fills in ops without one', () => {
    const st = llb.image('alpine').run({ args: ['uname'] }).root()
    const amd = st.marshal({ platform: 'linux/amd64' })
    const arm = st.marshal({ platform: { os: 'linux', architecture: 'aarch64' } })
    expect(amd.head!.digest).not.toBe(arm.head!.digest)
    expect(amd.ops.get(amd.head!.digest)!.platform).toEqual({ os: 'linux', architecture: 'amd64' })
    expect(arm.ops.get(arm.head!.digest)!.platform).toEqual({ os: 'linux', architecture: 'arm64' })
  })

  test('a 5,000-op chain marshals without recursion limits and in linear time', () => {
    let st = llb.image('busybox')
    for (let i = 0; i < 5000; i++) st = st.file(llb.mkdir(`/d${i}`, 0o755))
    const t0 = performance.now()
    const def = st.marshal({ platform: 'linux/amd64' })
    const first = performance.now() - t0
    expect(def.ops.size).toBe(5001)
    expectTopological(def)
    // The first marshal is dominated by one sha256 per op (~10 µs per op on
    // a loaded 2-core machine); a quadratic walk would take many seconds.
    expect(first).toBeLessThan(2000)
    const t1 = performance.now()
    const again = st.marshal({ platform: 'linux/amd64' })
    const second = performance.now() - t1
    expect([...again.ops.keys()]).toEqual([...def.ops.keys()])
    // Built ops are remembered per vertex and platform: later marshals only walk
    // (a loose guard against rebuilding every op; the bench measures the real figure).
    expect(second).toBeLessThan(Math.max(500, first / 2))
    expect(st.marshal({ platform: 'linux/arm64' }).head).not.toEqual(def.head)
  })
})

describe('multi-platform merge and JSON view', () => {
  // The shape of a multi-platform Dockerfile build: per-platform images and
  // RUNs, and a context COPY onto scratch that is the same for all platforms.
  const build = (platform: string): Definition => {
    const ctx = llb.local('context', { customName: 'load build context' })
    const assets = llb.scratch().file(llb.copy(ctx, '/assets', '/assets/'), { customName: 'COPY assets' })
    const app = llb.image('alpine:3.20').run({ args: ['make'] }).root()
    return llb.merge([app, assets]).marshal({ platform })
  }
  const amd = build('linux/amd64')
  const arm = build('linux/arm64')
  const merged = llb.mergeDefinitions([amd, arm])

  test('vertices shared across platforms appear once', () => {
    const shared = [...amd.ops.keys()].filter((d) => arm.ops.has(d))
    expect(shared).toHaveLength(2) // the local source and the COPY onto scratch
    expect(merged.ops.size).toBe(amd.ops.size + arm.ops.size - shared.length)
    expect(merged.heads).toEqual([amd.head, arm.head])
    expectTopological(merged)
  })

  test('definitionToJson lists each vertex with digest, kind, platform, inputs, op fields and metadata', () => {
    const json = llb.definitionToJson(merged)
    expect(json.vertices.map((v) => v.digest)).toEqual([...merged.ops.keys()])
    const copy = json.vertices.find((v) => v.kind === 'file')!
    expect(copy).toMatchObject({ metadata: { customName: 'COPY assets' }, op: { actions: [{ action: { type: 'copy', src: '/assets', dest: '/assets/' } }] } })
    expect(copy.platform).toBeUndefined()
    expect(json.vertices.filter((v) => v.kind === 'exec').map((v) => v.platform).sort()).toEqual(['linux/amd64', 'linux/arm64'])
  })

  test('the JSON text is stable for equal graphs built separately', () => {
    const again = llb.formatDefinition(llb.mergeDefinitions([build('linux/amd64'), build('linux/arm64')]))
    expect(again).toBe(llb.formatDefinition(merged))
    expect(JSON.parse(again).heads).toHaveLength(2)
  })
})
