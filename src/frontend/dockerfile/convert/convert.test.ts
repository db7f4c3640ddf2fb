import { describe, expect, test } from 'vitest'
import { parsePlatform } from '../../../common/platform.js'
import { definitionToJson, mergeDefinitions, type Definition, type ExecOp, type FileOp, type Op, type SourceOp } from '../../../llb/index.js'
import { convertDockerfile } from './convert.js'
import { fakeResolver, request } from './testing.js'

const ops = (def: Definition): Op[] => [...def.ops.values()]
const execs = (def: Definition): ExecOp[] => ops(def).filter((o): o is ExecOp => o.kind === 'exec')
const files = (def: Definition): FileOp[] => ops(def).filter((o): o is FileOp => o.kind === 'file')
const sources = (def: Definition): SourceOp[] => ops(def).filter((o): o is SourceOp => o.kind === 'source')
const names = (def: Definition): string[] => [...def.metadata.values()].map(m => m.customName ?? '').filter(n => n !== '')

async function convert1 (text: string, opts: Parameters<typeof request>[1] = {}) {
  const res = await convertDockerfile(request(text, opts))
  return { ...res, def: res.platforms[0]!.definition, image: res.platforms[0]!.image }
}

describe('stages and FROM', () => {
  test('single stage: image source pinned to the resolved digest, names without stage prefix', async () => {
    const { def, image } = await convert1('FROM alpine:3.20\nRUN make\n')
    const src = sources(def)[0]!
    expect(src.identifier).toMatch(/^docker-image:\/\/docker\.io\/library\/alpine:3\.20@sha256:[a-f0-9]{64}$/)
    expect(names(def)).toEqual([expect.stringMatching(/^\[1\/2\] FROM docker\.io\/library\/alpine:3\.20@sha256:/), '[2/2] RUN make'])
    expect(execs(def)[0]!.meta.args).toEqual(['/bin/sh', '-c', 'make'])
    expect(image.history!.at(-1)).toEqual({ created_by: 'RUN /bin/sh -c make # buildkit', comment: 'buildkit.dockerfile.v0' })
    expect(image.rootfs.diff_ids).toEqual([])
  })

  test('named stages, --from=name and numeric --from, stage prefix in names', async () => {
    const { def } = await convert1('FROM alpine AS build\nRUN make\nFROM scratch\nCOPY --from=build /out /app\nCOPY --from=0 /x /y\n')
    expect(names(def)).toContain('[build 2/2] RUN make')
    expect(names(def)).toContain('[stage-1 1/2] COPY --from=build /out /app')
    const copies = files(def).flatMap(f => f.actions.map(a => a.action))
    expect(copies.map(a => a.type === 'copy' ? [a.src, a.dest] : [])).toEqual([['/out', '/app'], ['/x', '/y']])
  })

  test('the image is the target\'s: history and config come from the stages it is built FROM, not from those it copies from', async () => {
    const text = 'FROM alpine AS base\nENV A=1\nRUN one\nFROM alpine AS other\nENV B=2\nLABEL x=y\nRUN two\nFROM base\nCOPY --from=other /o /o\nRUN three\n'
    const { image } = await convert1(text)
    const createdBy = image.history!.map(h => h.created_by).filter(c => c !== 'base')
    expect(createdBy.slice(-4)).toEqual(['ENV A=1', 'RUN /bin/sh -c one # buildkit', 'COPY /o /o # buildkit', 'RUN /bin/sh -c three # buildkit'])
    expect(createdBy.join('\n')).not.toMatch(/two|B=2|LABEL/)
    expect(image.config!.Env).toContain('A=1')
    expect(image.config!.Env).not.toContain('B=2')
    expect(image.config!.Labels ?? {}).toEqual({})
    // The same stage as the target records its own history.
    const other = await convert1(text, { target: 'other' })
    expect(other.image.history!.map(h => h.created_by).slice(-3)).toEqual(['ENV B=2', 'LABEL x=y', 'RUN /bin/sh -c two # buildkit'])
    expect(other.image.config!.Env).toContain('B=2')
  })

  test('--target prunes unreachable stages: no vertices and no base-image lookups', async () => {
    const resolver = fakeResolver()
    const { def } = await convert1('FROM alpine AS a\nRUN one\nFROM debian AS b\nRUN two\nFROM busybox\nCOPY --from=b / /\n', { target: 'a', imageResolver: resolver })
    expect(resolver.calls).toEqual(['alpine|linux/amd64'])
    expect(execs(def).map(e => e.meta.args.at(-1))).toEqual(['one'])
  })

  test('FROM an earlier stage continues its state and config', async () => {
    const { def, image } = await convert1('FROM alpine AS base\nENV A=1\nWORKDIR /src\nFROM base\nRUN make\n')
    const run = execs(def)[0]!
    expect(run.meta.cwd).toBe('/src')
    expect(run.meta.env).toContain('A=1')
    expect(image.config!.WorkingDir).toBe('/src')
  })

  test('FROM scratch has no source op; a COPY makes the only vertex', async () => {
    const { def, image } = await convert1('FROM scratch\nCOPY a /a\n')
    expect(sources(def).map(s => s.identifier)).toEqual(['local://context'])
    expect(image.config!.Env).toEqual(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'])
  })

  test('ONBUILD triggers of a base image run right after FROM', async () => {
    const resolver = fakeResolver({ onb: { OnBuild: ['RUN echo triggered', 'COPY . /app'] } })
    const { def, image } = await convert1('FROM onb\nRUN make\n', { imageResolver: resolver })
    expect(names(def)).toEqual(expect.arrayContaining(['[2/4] ONBUILD RUN echo triggered', '[3/4] ONBUILD COPY . /app', '[4/4] RUN make']))
    expect(image.config!.OnBuild).toBeNull()
  })

  test('ONBUILD in the Dockerfile is stored as text and replayed by a stage built FROM it', async () => {
    const { image, def } = await convert1('FROM alpine AS base\nONBUILD RUN echo hi\nFROM base\n', { target: 'base' })
    expect(image.config!.OnBuild).toEqual(['RUN echo hi'])
    expect(execs(def)).toHaveLength(0)
    const child = await convert1('FROM alpine AS base\nONBUILD RUN echo hi\nFROM base\n')
    expect(execs(child.def).map(e => e.meta.args.at(-1))).toEqual(['echo hi'])
    expect(child.image.config!.OnBuild).toBeNull()
  })
})
