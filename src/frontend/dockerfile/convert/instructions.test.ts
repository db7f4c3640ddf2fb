import { describe, expect, test } from 'vitest'
import { hasCode, DockerfileError } from '../../../common/errors.js'
import type { CopyAction, Definition, ExecOp, FileOp, MergeOp, Op, SourceOp } from '../../../llb/index.js'
import { convertDockerfile } from './convert.js'
import { formatOutline, formatTargets } from './outline.js'
import { fakeResolver, request } from './testing.js'

const ops = (def: Definition): Op[] => [...def.ops.values()]
const execs = (def: Definition) => ops(def).filter((o): o is ExecOp => o.kind === 'exec')
const copies = (def: Definition) => ops(def).filter((o): o is FileOp => o.kind === 'file').flatMap(f => f.actions.map(a => a.action)).filter((a): a is CopyAction => a.type === 'copy')

async function convert1 (text: string, opts: Parameters<typeof request>[1] = {}) {
  const res = await convertDockerfile(request(text, opts))
  return { ...res, def: res.platforms[0]!.definition, image: res.platforms[0]!.image }
}

describe('metadata instructions: config and history', () => {
  test.each([
    ['ENV A=b', { Env: expect.arrayContaining(['A=b']) }, 'ENV A=b'],
    ['LABEL a=b', { Labels: { a: 'b' } }, 'LABEL a=b'],
    ['EXPOSE 80 53/udp', { ExposedPorts: { '80/tcp': {}, '53/udp': {} } }, 'EXPOSE map[53/udp:{} 80/tcp:{}]'],
    ['USER app:staff', { User: 'app:staff' }, 'USER app:staff'],
    ['CMD ["a", "b"]', { Cmd: ['a', 'b'], ArgsEscaped: true }, 'CMD ["a" "b"]'],
    ['CMD run it', { Cmd: ['/bin/sh', '-c', 'run it'] }, 'CMD ["/bin/sh" "-c" "run it"]'],
    ['VOLUME /data /logs', { Volumes: { '/data': {}, '/logs': {} } }, 'VOLUME [/data /logs]'],
    ['STOPSIGNAL SIGQUIT', { StopSignal: 'SIGQUIT' }, 'STOPSIGNAL SIGQUIT'],
    ['SHELL ["/bin/bash", "-c"]', { Shell: ['/bin/bash', '-c'] }, 'SHELL [/bin/bash -c]'],
    ['HEALTHCHECK --interval=30s --retries=3 CMD curl -f x', { Healthcheck: { Test: ['CMD-SHELL', 'curl -f x'], Interval: 30e9, Retries: 3 } },
      'HEALTHCHECK {Test:[CMD-SHELL curl -f x] Interval:30s Timeout:0s StartPeriod:0s StartInterval:0s Retries:3}'],
    ['ONBUILD RUN make', { OnBuild: ['RUN make'] }, undefined],
    ['ARG X=1', {}, 'ARG X=1'],
  ])('%s', async (line, config, createdBy) => {
    const { image } = await convert1(`FROM alpine\n${line}\n`)
    expect(image.config).toMatchObject(config)
    const last = image.history!.at(-1)!
    if (createdBy === undefined) expect(last.created_by).toBe('base')
    else expect(last).toEqual({ created_by: createdBy, comment: 'buildkit.dockerfile.v0', empty_layer: true })
  })

  test('MAINTAINER sets the author', async () => {
    const { image } = await convert1('FROM alpine\nMAINTAINER Jane <j@x>\n')
    expect(image.author).toBe('Jane <j@x>')
    expect(image.history!.at(-1)!.created_by).toBe('MAINTAINER Jane <j@x>')
  })

  test('ENTRYPOINT drops the base CMD but keeps one set in the Dockerfile', async () => {
    const resolver = fakeResolver({ app: { Cmd: ['serve'] } })
    expect((await convert1('FROM app\nENTRYPOINT ["x"]\n', { imageResolver: resolver })).image.config!.Cmd).toBeNull()
    expect((await convert1('FROM app\nCMD ["y"]\nENTRYPOINT ["x"]\n', { imageResolver: resolver })).image.config!.Cmd).toEqual(['y'])
  })

  test('WORKDIR makes the directory (owned by USER) as a layer; history records it', async () => {
    const { def, image } = await convert1('FROM alpine\nUSER 1000:1000\nWORKDIR /src\nWORKDIR app\n')
    const mkdirs = ops(def).filter((o): o is FileOp => o.kind === 'file').map(f => f.actions[0]!.action)
    expect(mkdirs).toEqual([
      { type: 'mkdir', path: '/src', mode: 0o755, makeParents: true, owner: { user: 1000, group: 1000 } },
      { type: 'mkdir', path: '/src/app', mode: 0o755, makeParents: true, owner: { user: 1000, group: 1000 } },
    ])
    expect(image.config!.WorkingDir).toBe('/src/app')
    expect(image.history!.at(-1)).toEqual({ created_by: 'WORKDIR /src/app', comment: 'buildkit.dockerfile.v0' })
  })

  test('SOURCE_DATE_EPOCH sets history and image created times', async () => {
    const { image } = await convert1('FROM alpine\nENV A=1\n', { sourceDateEpoch: 1700000000 })
    expect(image.created).toBe('2023-11-14T22:13:20Z')
    expect(image.history!.at(-1)!.created).toBe('2023-11-14T22:13:20Z')
  })

  test('--label lands on the final image', async () => {
    const { image } = await convert1('FROM alpine\nLABEL a=1\n', { labels: new Map([['b', '2']]) })
    expect(image.config!.Labels).toEqual({ a: '1', b: '2' })
  })
})

describe('RUN', () => {
  test('--network for the whole build: every RUN without its own, in every stage; RUN --network=default keeps it', async () => {
    const text = 'FROM alpine AS a\nRUN one\nFROM a\nRUN two\nRUN --network=default three\nRUN --network=host four\n'
    const { def } = await convert1(text, { network: 'none' })
    const runs = ops(def).filter((o): o is ExecOp => o.kind === 'exec')
    expect(runs.map(r => [r.meta.args.at(-1), r.network])).toEqual([['one', 'none'], ['two', 'none'], ['three', 'none'], ['four', 'host']])
    const plain = await convert1(text)
    expect(ops(plain.def).filter((o): o is ExecOp => o.kind === 'exec').map(r => r.network)).toEqual(['default', 'default', 'default', 'host'])
  })

  test('exec form, SHELL, network, security, user and cwd', async () => {
    const { def } = await convert1('FROM alpine\nUSER nobody\nWORKDIR /w\nSHELL ["/bin/bash", "-c"]\nRUN echo a\nRUN --network=none --security=insecure ["ls", "-l"]\n')
    const [a, b] = execs(def)
    expect(a!.meta).toMatchObject({ args: ['/bin/bash', '-c', 'echo a'], user: 'nobody', cwd: '/w' })
    expect(b).toMatchObject({ network: 'none', security: 'insecure', meta: { args: ['ls', '-l'] } })
  })

  test('mounts: bind from stage, cache with default id, tmpfs, secret (file and env), ssh', async () => {
    const text = 'FROM alpine AS b\nFROM alpine\nARG T=/cache\n' +
      'RUN --mount=type=bind,from=b,source=/src,target=/s --mount=type=cache,target=$T --mount=type=tmpfs,target=/tmp,size=1m ' +
      '--mount=type=secret,id=tok,env=TOKEN --mount=type=secret,id=npmrc,target=/root/.npmrc,required --mount=type=ssh make\n'
    const { def, outline } = await convert1(text)
    const run = execs(def)[0]!
    const byDest = Object.fromEntries(run.mounts.map(m => [m.dest, m]))
    expect(byDest['/s']).toMatchObject({ type: 'bind', readonly: true, selector: '/src' })
    expect(byDest['/cache']).toMatchObject({ type: 'cache', cacheId: '/cache', sharing: 'shared' })
    expect(byDest['/tmp']).toMatchObject({ type: 'tmpfs', size: 1024 * 1024 })
    expect(byDest['/root/.npmrc']).toMatchObject({ type: 'secret', secretId: 'npmrc', optional: false, mode: 0o400 })
    expect(byDest['/run/buildkit/ssh_agent.0']).toMatchObject({ type: 'ssh', sshId: 'default' })
    expect(run.meta.secretEnv).toEqual([{ id: 'tok', name: 'TOKEN', optional: true }])
    expect(outline.secrets).toEqual([{ name: 'npmrc', isRequired: true }, { name: 'tok', isRequired: false }])
    expect(outline.ssh).toEqual([{ name: 'default', isRequired: false }])
  })

  test('heredoc: plain body runs in the shell; a shebang body is written to a file and executed', async () => {
    const { def } = await convert1('FROM alpine\nRUN <<EOF\necho hi\nEOF\nRUN <<EOF\n#!/usr/bin/env python3\nprint(1)\nEOF\n')
    const [plain, script] = execs(def)
    expect(plain!.meta.args).toEqual(['/bin/sh', '-c', 'echo hi\n'])
    expect(script!.meta.args).toEqual(['/bin/sh', '-c', '/dev/pipes/EOF'])
    expect(script!.mounts.map(m => m.dest)).toContain('/dev/pipes')
    expect([...def.metadata.values()].map(m => m.customName)).toContain('[2/3] RUN <<EOF (echo hi)')
  })

  test('--no-cache-filter marks the stage\'s vertices', async () => {
    const { def } = await convert1('FROM alpine AS a\nRUN x\nFROM alpine\nCOPY --from=a / /\nRUN y\n', { noCacheFilter: ['a'] })
    const flagged = [...def.metadata.values()].filter(m => m.ignoreCache === true).map(m => m.customName)
    expect(flagged).toEqual(['[a 2/2] RUN x'])
  })
})

describe('COPY and ADD', () => {
  test('context copy: dest relative to WORKDIR, trailing slash kept, chown names passed through, chmod', async () => {
    const { def, image } = await convert1('FROM alpine\nWORKDIR /app\nCOPY --chown=app:staff --chmod=0640 a b ./\nCOPY --chmod=u+x x y\n', { dockerignorePatterns: ['node_modules'] })
    const [a, b, x] = copies(def)
    expect(a).toMatchObject({ src: '/a', dest: '/app/', owner: { user: 'app', group: 'staff' }, mode: 0o640, allowWildcard: true, dirCopyContents: true, createDestPath: true })
    expect(b!.src).toBe('/b')
    expect(x).toMatchObject({ src: '/x', dest: '/app/y', mode: 'u+x' })
    const ctx = ops(def).find((o): o is SourceOp => o.kind === 'source' && o.attrs.type === 'local')!
    expect(ctx.attrs).toMatchObject({ name: 'context', excludePatterns: ['node_modules'] })
    expect(image.history!.at(-2)).toEqual({ created_by: 'COPY --chown=app:staff --chmod=0640 a b ./ # buildkit', comment: 'buildkit.dockerfile.v0' })
  })

  test('ADD: URL with checksum, git with keep-git-dir, local archives unpacked', async () => {
    const sum = 'sha256:' + 'a'.repeat(64)
    const { def } = await convert1(`FROM alpine\nADD --checksum=${sum} https://example.com/f.tgz /dl/\nADD --keep-git-dir https://github.com/moby/buildkit.git#v0.12 /src\nADD app.tar.gz /opt/\n`)
    const srcs = ops(def).filter((o): o is SourceOp => o.kind === 'source').map(s => s.attrs)
    expect(srcs).toContainEqual(expect.objectContaining({ type: 'http', url: 'https://example.com/f.tgz', checksum: sum, filename: 'f.tgz' }))
    expect(srcs).toContainEqual(expect.objectContaining({ type: 'git', remote: 'https://github.com/moby/buildkit.git', ref: 'v0.12', keepGitDir: true }))
    const cs = copies(def)
    expect(cs[0]).toMatchObject({ src: '/f.tgz', dest: '/dl/f.tgz' })
    expect(cs.at(-1)).toMatchObject({ src: '/app.tar.gz', attemptUnpack: true })
  })

  test('--link copies onto scratch and merges; --exclude passes through', async () => {
    const { def } = await convert1('FROM alpine\nCOPY --link a /a\nCOPY --exclude=*.md src/ /dst/\n')
    expect(ops(def).filter((o): o is MergeOp => o.kind === 'merge')).toHaveLength(1)
    const [link, excluding] = copies(def)
    expect(link!.dest).toBe('/a')
    expect(excluding).toMatchObject({ src: '/src/', excludePatterns: ['*.md'] })
  })

  test('history: the flags that change the files, then sources and dest as expanded (BuildKit\'s line)', async () => {
    const { image } = await convert1('FROM alpine\nARG N=f D=/d/\nCOPY --parents --chown=65534 --chmod=${M:-600} $N ${D}\nADD --chown=1:2 x.tar /x/\n')
    expect(image.history!.slice(-2).map(h => h.created_by)).toEqual(['COPY --parents --chown=65534 --chmod=600 f /d/ # buildkit', 'ADD --chown=1:2 x.tar /x/ # buildkit'])
  })

  test.each([
    ['8080/tcpp', /Dockerfile:2: invalid proto "tcpp" in EXPOSE 8080\/tcpp: expected tcp, udp or sctp/],
    ['99999', /invalid port range "99999"/],
    ['abc', /invalid port "abc"/],
  ])('EXPOSE %s is refused, as Docker\'s port parser refuses it', async (spec, message) => {
    await expect(convert1(`FROM alpine\nEXPOSE ${spec}\n`)).rejects.toThrow(message)
  })

  test('EXPOSE takes sctp and any case of a protocol name', async () => {
    const { image } = await convert1('FROM alpine\nEXPOSE 9/SCTP 10/Udp\n')
    expect(image.config!.ExposedPorts).toEqual({ '9/sctp': {}, '10/udp': {} })
  })

  test('--link with a user or group name is refused before building: an empty layer has no /etc/passwd', async () => {
    await expect(convert1('FROM alpine\nCOPY --link --chown=app:1 f /f\n')).rejects.toThrow(/Dockerfile:2: COPY --link --chown=app:1: .*use numeric IDs/)
    await expect(convert1('FROM alpine\nCOPY --link --chown=1000:1000 f /f\n')).resolves.toBeDefined()
  })

  test('--link with --chmod is an ordinary copy, as in BuildKit (so names resolve)', async () => {
    const { def } = await convert1('FROM alpine\nCOPY --link --chmod=755 --chown=app f /f\n')
    expect(ops(def).filter(o => o.kind === 'merge')).toHaveLength(0)
  })

  test.each([
    ['src/*/x', '/', ['src/*/x']],
    ['./src/**/*.txt', '/', ['src/**/*.txt']],
    ['./a/./b/c.txt', '/a', ['b/c.txt']],
    ['/out/./bin/x', '/out', ['bin/x']],
    ['x/./', '/x', []],
  ])('COPY --parents %s: copies %s filtered by %j, as BuildKit splits at the /./ pivot', async (src, from, include) => {
    const { def } = await convert1(`FROM alpine\nCOPY --parents --exclude=*.md ${src} /dst/\n`)
    const [c] = copies(def)
    expect(c).toMatchObject({ src: from, dest: '/dst/', includePatterns: include, excludePatterns: ['*.md'], dirCopyContents: true, parents: false })
  })

  test('heredoc file source becomes a mkfile copied into place', async () => {
    const { def, image } = await convert1('FROM alpine\nARG NAME=world\nCOPY <<EOF /hello.txt\nhello $NAME\nEOF\n')
    const mk = ops(def).flatMap(o => o.kind === 'file' ? o.actions.map(a => a.action) : []).find(a => a.type === 'mkfile')
    expect(mk).toMatchObject({ path: '/EOF', data: 'hello world\n' })
    expect(image.history!.at(-1)!.created_by).toBe('COPY <<EOF /hello.txt # buildkit')
  })
})

describe('named contexts', () => {
  test('image, local and oci-layout contexts replace FROM and --from names', async () => {
    const resolver = fakeResolver()
    const { def } = await convert1('FROM base\nCOPY --from=assets / /a\nCOPY --from=tools / /t\n', {
      imageResolver: resolver,
      namedContexts: new Map([
        ['base', { kind: 'image', ref: 'debian:12' }],
        ['assets', { kind: 'local', path: '/tmp/assets' }],
        ['tools', { kind: 'oci-layout', path: '/layouts/tools', ref: 'v1' }],
      ]),
    })
    const ids = ops(def).filter((o): o is SourceOp => o.kind === 'source').map(s => s.identifier)
    expect(ids).toEqual(expect.arrayContaining([expect.stringMatching(/^docker-image:\/\/docker\.io\/library\/debian:12@sha256:/), 'local://assets', expect.stringMatching(/^oci-layout:\/\/\/layouts\/tools:v1@sha256:/)]))
    expect(resolver.calls).toEqual(expect.arrayContaining(['debian:12|linux/amd64', 'oci-layout:///layouts/tools:v1|linux/amd64']))
    expect(resolver.calls.some(c => c.startsWith('base'))).toBe(false)
  })
})

describe('errors', () => {
  const fails = async (text: string, code: string, message: RegExp, opts: Parameters<typeof request>[1] = {}) => {
    const err = await convertDockerfile(request(text, opts)).then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(DockerfileError)
    expect(hasCode(err, code as never)).toBe(true)
    expect((err as Error).message).toMatch(message)
    return err as DockerfileError
  }

  test('unknown --target suggests the nearest stage', () => fails('FROM alpine AS build\nFROM alpine AS test\n', 'UNKNOWN_STAGE', /target stage "biuld" could not be found \(did you mean build\?\)/, { target: 'biuld' }))
  test('stage cycle: FROM itself', () => fails('FROM a AS a\n', 'INVALID_INSTRUCTION', /circular dependency detected on stage: a/))
  test('stage cycle: mutual', () => fails('FROM alpine AS a\nCOPY --from=b / /\nFROM alpine AS b\nCOPY --from=a / /\n', 'INVALID_INSTRUCTION', /circular dependency/))
  test('bad FROM --platform', async () => {
    const err = await fails('FROM --platform=linux/ alpine\n', 'INVALID_PLATFORM', /Dockerfile:1: invalid platform/)
    expect(err.ranges[0]!.start.line).toBe(1)
  })
  test('${V:?msg} failure is located', async () => {
    const err = await fails('FROM alpine\n\nENV A="${MISSING:?must be set}"\n', 'EXPANSION', /Dockerfile:3: .*must be set/)
    expect(err.file).toBe('Dockerfile')
  })
  test('blank base name', () => fails('ARG IMG\nFROM $IMG\n', 'INVALID_INSTRUCTION', /base name \(\$IMG\) should not be blank/))
  test('undefined base image suggests a stage name', () => fails('FROM alpine AS build\nFROM biuld\n', 'NOT_FOUND', /did you mean build\?/, { imageResolver: fakeResolver({}, ['biuld']) }))
  test('numeric --from out of range', () => fails('FROM alpine\nCOPY --from=3 / /\n', 'UNKNOWN_STAGE', /invalid stage index 3/))
  test('several sources need a directory destination', () => fails('FROM alpine\nCOPY a b /dst\n', 'INVALID_INSTRUCTION', /must be a directory and end with a \//))
})

describe('outline and targets', () => {
  const text = [
    '# VERSION the release to build',
    'ARG VERSION=1.0',
    'ARG UNUSED=1',
    '# build compiles the app',
    'FROM golang:$VERSION AS build',
    '# GOFLAGS flags for go build',
    'ARG GOFLAGS=-v',
    'RUN --mount=type=secret,id=netrc,required go build',
    '# release: the final image',
    'FROM alpine AS release',
    'COPY --from=build /out /app',
    '',
  ].join('\n')

  test('outline lists used args with defaults and descriptions, secrets, target description', async () => {
    const { outline } = await convertDockerfile(request(text))
    expect(outline).toMatchObject({
      name: 'release',
      description: 'the final image',
      args: [{ name: 'VERSION', value: '1.0', description: 'the release to build' }, { name: 'GOFLAGS', value: '-v', description: 'flags for go build' }],
      secrets: [{ name: 'netrc', isRequired: true }],
    })
    expect(formatOutline(outline)).toBe([
      'TARGET:      release',
      'DESCRIPTION: the final image',
      '',
      'BUILD ARG   VALUE   DESCRIPTION',
      'VERSION     1.0     the release to build',
      'GOFLAGS     -v      flags for go build',
      '',
      'SECRET   REQUIRED',
      'netrc    true',
      '',
      '',
    ].join('\n'))
  })

  test('targets lists every stage and marks the default', async () => {
    const { outline } = await convertDockerfile(request(text))
    expect(formatTargets(outline)).toBe('TARGET            DESCRIPTION\nbuild             compiles the app\nrelease (default) the final image\n')
  })
})
