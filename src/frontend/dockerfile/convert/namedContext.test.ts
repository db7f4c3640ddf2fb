import { describe, expect, test } from 'vitest'
import type { Definition, Edge, ExecOp, FileOp, Op, SourceOp } from '../../../llb/index.js'
import { convertDockerfile } from './convert.js'
import { fakeResolver, request, type FakeResolver } from './testing.js'
import type { ConvertRequest, NamedContext } from './types.js'

const ops = (def: Definition): Op[] => [...def.ops.values()]
const execs = (def: Definition): ExecOp[] => ops(def).filter((o): o is ExecOp => o.kind === 'exec')
const files = (def: Definition): FileOp[] => ops(def).filter((o): o is FileOp => o.kind === 'file')
const sourceOf = (def: Definition, edge: Edge): string => {
  const op = def.ops.get(edge.digest)
  if (op?.kind !== 'source') throw new Error(`expected a source op, got ${op?.kind ?? 'nothing'}`)
  return (op as SourceOp).identifier
}
const names = (def: Definition): string[] => [...def.metadata.values()].map(m => m.customName ?? '').filter(n => n !== '')

async function convert1 (text: string, contexts: Record<string, NamedContext>, opts: Omit<Partial<ConvertRequest>, 'imageResolver'> & { imageResolver?: FakeResolver } = {}) {
  const resolver = opts.imageResolver ?? fakeResolver()
  const res = await convertDockerfile(request(text, { imageResolver: resolver, namedContexts: new Map(Object.entries(contexts)), ...opts }))
  return { ...res, resolver, def: res.platforms[0]!.definition, image: res.platforms[0]!.image }
}

const DIR: NamedContext = { kind: 'local', path: '/tmp/rep' }
const REPLACED = 'FROM busybox AS gen\nRUN echo original > /s\n'

describe('a named context with a stage\'s name replaces the whole stage', () => {
  test('the stage\'s RUN is not in the LLB and COPY --from reads the directory', async () => {
    const { def, resolver } = await convert1(`${REPLACED}FROM alpine\nCOPY --from=gen /s /s\n`, { gen: DIR })
    expect(execs(def)).toEqual([])
    const copy = files(def)[0]!
    expect(sourceOf(def, copy.inputs[copy.actions[0]!.secondaryInput]!)).toBe('local://gen')
    // The replaced stage's own FROM is never looked up.
    expect(resolver.calls).toEqual(['alpine|linux/amd64'])
  })

  test.each([
    ['a directory', DIR, /^local:\/\/gen$/],
    ['a registry image', { kind: 'image', ref: 'example.com/repl:1' } as NamedContext, /^docker-image:\/\/example\.com\/repl:1@sha256:/],
    ['an OCI layout', { kind: 'oci-layout', path: '/layouts/x', ref: 'v1' } as NamedContext, /^oci-layout:\/\/\/layouts\/x:v1@sha256:/],
  ])('RUN --mount from= reads %s', async (_, nc, identifier) => {
    const { def } = await convert1(`${REPLACED}FROM alpine\nRUN --mount=from=gen,target=/g cat /g/s\n`, { gen: nc })
    const run = execs(def)
    expect(run.map(e => e.meta.args.at(-1))).toEqual(['cat /g/s'])
    const mount = run[0]!.mounts.find(m => m.dest === '/g')!
    expect(sourceOf(def, run[0]!.inputs[mount.input]!)).toMatch(identifier)
  })

  test('FROM gen starts from the image context with its config and ONBUILD triggers', async () => {
    const resolver = fakeResolver({ 'example.com/repl:1': { Env: ['PATH=/bin', 'FROM_CTX=1'], WorkingDir: '/w', OnBuild: ['RUN trigger'] } })
    const { def, image } = await convert1(`${REPLACED}ENV IN_STAGE=1\nFROM gen\nRUN make\n`, { gen: { kind: 'image', ref: 'example.com/repl:1' } }, { imageResolver: resolver })
    expect(execs(def).map(e => e.meta.args.at(-1))).toEqual(['trigger', 'make'])
    expect(execs(def)[1]!.meta).toMatchObject({ cwd: '/w', env: expect.arrayContaining(['FROM_CTX=1']) })
    expect(sourceOf(def, execs(def)[0]!.inputs[0]!)).toMatch(/^docker-image:\/\/example\.com\/repl:1@sha256:/)
    expect(image.config).toMatchObject({ Env: ['PATH=/bin', 'FROM_CTX=1'], WorkingDir: '/w', OnBuild: null })
    expect(resolver.calls).toEqual(['example.com/repl:1|linux/amd64'])
  })

  test('--target gen is the named context itself', async () => {
    const resolver = fakeResolver({ 'example.com/repl:1': { Env: ['PATH=/bin'], Cmd: ['sh'] } })
    const { def, image } = await convert1(`${REPLACED}LABEL stage=yes\nFROM alpine\n`, { gen: { kind: 'image', ref: 'example.com/repl:1' } }, { imageResolver: resolver, target: 'gen' })
    expect(ops(def).map(o => o.kind)).toEqual(['source'])
    expect(sourceOf(def, def.head!)).toMatch(/^docker-image:\/\/example\.com\/repl:1@sha256:/)
    expect(image.config).toEqual({ Env: ['PATH=/bin'], Cmd: ['sh'] })
    expect(image.history).toEqual([{ created_by: 'base' }])

    // A directory result is copied into one layer: the solver gives layers, not directories, to export.
    const dir = await convert1(REPLACED, { gen: DIR }, { target: 'gen' })
    const head = dir.def.ops.get(dir.def.head!.digest) as FileOp
    expect(head.actions.map(a => a.action)).toEqual([expect.objectContaining({ type: 'copy', src: '/', dest: '/', dirCopyContents: true })])
    expect(sourceOf(dir.def, head.inputs[head.actions[0]!.secondaryInput]!)).toBe('local://gen')
    expect(execs(dir.def)).toEqual([])
    expect(dir.resolver.calls).toEqual([])
  })

  test('stages only the replaced stage reads are not dispatched, and cycles through it do not count', async () => {
    const text = 'FROM busybox AS gen\nCOPY --from=tool /t /t\nRUN --mount=type=secret,id=tok,required x\nFROM busybox AS tool\nCOPY --from=gen /s /s\nRUN build-tool\nFROM gen\n'
    const { def, resolver, outline } = await convert1(text, { gen: DIR })
    expect(execs(def)).toEqual([])
    expect(resolver.calls).toEqual([])
    expect(names(def).sort()).toEqual(['[context gen] load from client', '[internal] copy context gen into a layer'])
    expect(outline.secrets).toEqual([])
  })

  test('ARGs of the replaced stage are neither outlined nor consumed', async () => {
    const { outline, warnings } = await convert1(`${REPLACED}ARG INNER=1\nFROM alpine\nCOPY --from=gen /s /s\n`, { gen: DIR }, { buildArgs: new Map([['INNER', '2']]) })
    expect(outline.args.map(a => a.name)).toEqual([])
    expect(warnings.map(w => w.rule)).toContain('UnusedBuildArgs')
  })

  test('without a named context the same Dockerfile runs the stage', async () => {
    const { def } = await convert1(`${REPLACED}FROM alpine\nCOPY --from=gen /s /s\n`, {})
    expect(execs(def).map(e => e.meta.args.at(-1))).toEqual(['echo original > /s'])
  })
})

describe('a named context that no stage is named after', () => {
  test.each([
    ['a registry image', { kind: 'image', ref: 'example.com/obase:1' } as NamedContext],
    ['an OCI layout', { kind: 'oci-layout', path: '/layouts/obase', ref: 'v1' } as NamedContext],
  ])('FROM a name that only a context gives (%s) runs the image\'s ONBUILD triggers first', async (_, nc) => {
    const config = { Env: ['PATH=/bin'], OnBuild: ['ARG GREETING=hi', 'RUN echo $GREETING > /t'] }
    const resolver = fakeResolver({ 'example.com/obase:1': config, 'oci-layout:///layouts/obase:v1': config })
    const { def, image } = await convert1('FROM obase\nRUN make\n', { obase: nc }, { imageResolver: resolver })
    expect(execs(def).map(e => e.meta.args.at(-1))).toEqual(['echo $GREETING > /t', 'make'])
    expect(execs(def)[0]!.meta.env).toContain('GREETING=hi')
    expect(image.config?.OnBuild).toBeNull()
  })
})
