import { describe, expect, test } from 'vitest'
import { parsePlatform } from '../../../common/platform.js'
import { mergeDefinitions, type Definition, type ExecOp } from '../../../llb/index.js'
import { convertDockerfile } from './convert.js'
import { fakeResolver, request } from './testing.js'

const execs = (def: Definition): ExecOp[] => [...def.ops.values()].filter((o): o is ExecOp => o.kind === 'exec')
const amd64 = parsePlatform('linux/amd64')
const arm64 = parsePlatform('linux/arm64')

describe('build args', () => {
  test('global ARG is usable in FROM and imported into a stage only when re-declared', async () => {
    const resolver = fakeResolver()
    const res = await convertDockerfile(request('ARG V=3.20\nFROM alpine:$V\nRUN echo $V\nARG V\nRUN echo $V\n', { imageResolver: resolver }))
    expect(resolver.calls).toEqual(['alpine:3.20|linux/amd64'])
    const [first, second] = execs(res.platforms[0]!.definition)
    expect(first!.meta.env.some(e => e.startsWith('V='))).toBe(false)
    expect(second!.meta.env).toContain('V=3.20')
    expect(res.platforms[0]!.image.history!.map(h => h.created_by)).toContain('RUN |1 V=3.20 /bin/sh -c echo $V # buildkit')
  })

  test('--build-arg overrides defaults, global and in-stage', async () => {
    const res = await convertDockerfile(request('ARG V=1\nFROM alpine:$V\nARG W=x\nRUN echo\n', {
      buildArgs: new Map([['V', '9'], ['W', 'y']]), imageResolver: fakeResolver(),
    }))
    expect(res.platforms[0]!.definition.ops.size).toBeGreaterThan(0)
    expect(execs(res.platforms[0]!.definition)[0]!.meta.env).toContain('W=y')
    expect([...res.platforms[0]!.definition.ops.values()].some(o => o.kind === 'source' && o.identifier.includes('alpine:9@'))).toBe(true)
  })

  test('platform args: automatic in FROM, inside a stage only when declared', async () => {
    const res = await convertDockerfile(request('FROM alpine\nRUN echo $TARGETARCH\nARG TARGETARCH BUILDPLATFORM\nRUN echo\n', {
      targetPlatforms: [arm64], buildPlatform: amd64,
    }))
    const [a, b] = execs(res.platforms[0]!.definition)
    expect(a!.meta.env.some(e => e.startsWith('TARGETARCH'))).toBe(false)
    expect(b!.meta.env).toEqual(expect.arrayContaining(['TARGETARCH=arm64', 'BUILDPLATFORM=linux/amd64']))
    expect(b!.platform).toEqual(arm64)
  })

  test('proxy args reach RUN via proxyEnv, not env, history or warnings', async () => {
    const res = await convertDockerfile(request('FROM alpine\nRUN curl x\n', { buildArgs: new Map([['HTTP_PROXY', 'http://p:3128'], ['no_proxy', 'localhost']]) }))
    const run = execs(res.platforms[0]!.definition)[0]!
    expect(run.meta.proxyEnv).toEqual({ httpProxy: 'http://p:3128', noProxy: 'localhost' })
    expect(run.meta.env.join(' ')).not.toContain('proxy')
    expect(JSON.stringify(res.platforms[0]!.image)).not.toContain('3128')
    expect(res.warnings).toEqual([])
  })

  test('unused build args are reported as BuildKit does', async () => {
    const res = await convertDockerfile(request('ARG USED\nFROM alpine\n', { buildArgs: new Map([['USED', '1'], ['FOO', '2'], ['BAR', '3']]) }))
    expect(res.warnings.map(w => w.message)).toEqual(['[Warning] One or more build-args [BAR FOO] were not consumed'])
  })

  test('ENV snapshot rule: values see the environment before the instruction', async () => {
    const res = await convertDockerfile(request('FROM alpine\nENV a=old\nENV a=x b=$a\nRUN env\n'))
    expect(res.platforms[0]!.image.config!.Env).toEqual(expect.arrayContaining(['a=x', 'b=old']))
    expect(res.platforms[0]!.image.history!.map(h => h.created_by)).toContain('ENV a=x b=old')
  })
})

describe('platforms', () => {
  const text = 'FROM --platform=$BUILDPLATFORM golang AS build\nARG TARGETARCH\nRUN go build\nRUN go vet\nFROM alpine\nCOPY --from=build /out /app\nRUN test\n'

  test('one Definition per target; a build-platform stage without target args is shared', async () => {
    const resolver = fakeResolver()
    const res = await convertDockerfile(request(text.replace('ARG TARGETARCH\n', ''), { targetPlatforms: [amd64, arm64], buildPlatform: amd64, imageResolver: resolver }))
    expect(res.platforms.map(p => p.platform)).toEqual([amd64, arm64])
    const [a, b] = res.platforms.map(p => p.definition)
    const merged = mergeDefinitions([a!, b!])
    // golang source + 2 runs shared; per platform: alpine source, copy, run.
    expect(a!.ops.size).toBe(6)
    expect(merged.ops.size).toBe(3 + 3 * 2)
    expect(resolver.calls.filter(c => c.startsWith('golang'))).toEqual(['golang|linux/amd64'])
    expect([...merged.metadata.values()].map(m => m.customName)).toContain('[linux/amd64 build 2/3] RUN go build')
    expect([...merged.metadata.values()].map(m => m.customName)).toContain('[linux/arm64 stage-1 3/3] RUN test')
  })

  test('declaring TARGETARCH in a build-platform stage makes its runs per target (cross suffix in names)', async () => {
    const res = await convertDockerfile(request(text, { targetPlatforms: [amd64, arm64], buildPlatform: amd64 }))
    const merged = mergeDefinitions(res.platforms.map(p => p.definition))
    const runs = [...merged.ops.values()].filter(o => o.kind === 'exec' && o.meta.args.at(-1) === 'go build')
    expect(runs).toHaveLength(2)
    expect(runs.every(r => r.platform?.architecture === 'amd64')).toBe(true)
    const armNames = [...res.platforms[1]!.definition.metadata.values()].map(m => m.customName)
    expect(armNames).toContain('[linux/amd64->arm64 build 2/3] RUN go build')
  })

  test('a build-platform stage is converted once: the second platform reuses its vertices, not equal copies', async () => {
    const res = await convertDockerfile(request(text.replace('ARG TARGETARCH\n', ''), { targetPlatforms: [amd64, arm64], buildPlatform: amd64 }))
    const [a, b] = res.platforms.map(p => p.definition)
    const shared = [...a!.ops.entries()].filter(([d]) => b!.ops.has(d))
    expect(shared.map(([, op]) => op.kind).sort()).toEqual(['exec', 'exec', 'source'])
    // The same vertices carry the same metadata objects; converted again, they would be equal copies.
    for (const [d] of shared) expect(b!.metadata.get(d)).toBe(a!.metadata.get(d))
    // The platform's own stage is converted for each platform.
    expect([...a!.ops.keys()].filter(d => !b!.ops.has(d))).toHaveLength(3)
  })

  test.each([
    ['imports a global ARG whose default comes from TARGETARCH', 'ARG ARCH=$TARGETARCH\nFROM --platform=$BUILDPLATFORM golang AS build\nARG ARCH\nRUN go build\nFROM alpine\nCOPY --from=build /out /app\n'],
    ['copies from an image (read for the target platform)', 'FROM --platform=$BUILDPLATFORM golang AS build\nCOPY --from=busybox /bin/sh /sh\nRUN go build\nFROM alpine\nCOPY --from=build /out /app\n'],
    ['copies from a stage that runs on the target platform', 'FROM alpine AS assets\nRUN make assets\nFROM --platform=$BUILDPLATFORM golang AS build\nCOPY --from=assets /a /a\nRUN go build\nFROM alpine\nCOPY --from=build /out /app\n'],
  ])('a build-platform stage that %s stays per platform', async (_what, dockerfile) => {
    const res = await convertDockerfile(request(dockerfile, { targetPlatforms: [amd64, arm64], buildPlatform: amd64 }))
    const [a, b] = res.platforms.map(p => p.definition)
    const build = (def: typeof a): Array<[string, ExecOp]> => [...def!.ops.entries()].flatMap(([d, op]) => op.kind === 'exec' && op.meta.args.at(-1) === 'go build' ? [[d, op] as [string, ExecOp]] : [])
    const [[da, opA]] = build(a) as [[string, ExecOp]]
    const [[db, opB]] = build(b) as [[string, ExecOp]]
    expect(opA.platform?.architecture).toBe('amd64')
    expect(opB.platform?.architecture).toBe('amd64')
    expect(da).not.toBe(db)
  })

  test('image config carries the target platform', async () => {
    const res = await convertDockerfile(request('FROM alpine\n', { targetPlatforms: [parsePlatform('linux/arm/v7')] }))
    expect(res.platforms[0]!.image).toMatchObject({ os: 'linux', architecture: 'arm', variant: 'v7' })
  })
})
