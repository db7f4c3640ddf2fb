import { describe, expect, test } from 'vitest'
import { DockerfileError, hasCode, type ErrorCode } from '../../../common/errors.js'
import { parse } from '../parser/index.js'
import { parseInstruction } from './parse.js'
import type { Instruction } from './types.js'

const one = (line: string): Instruction => parseInstruction(parse(`${line}\n`).nodes[0]!)

describe('each instruction', () => {
  test.each([
    ['FROM alpine', { kind: 'from', image: 'alpine' }],
    ['FROM --platform=$BUILDPLATFORM golang:1 AS Build', { kind: 'from', image: 'golang:1', platform: '$BUILDPLATFORM', stageName: 'build' }],
    ['RUN echo  hi', { kind: 'run', args: ['echo  hi'], json: false, mounts: [], devices: [] }],
    ['RUN ["sh", "-c", "x"]', { kind: 'run', args: ['sh', '-c', 'x'], json: true }],
    ['RUN --network=none --security=insecure --device=vendor.com/gpu=all,required true',
      { kind: 'run', network: 'none', security: 'insecure', devices: [{ name: 'vendor.com/gpu=all', isRequired: true }] }],
    ['CMD ["a"]', { kind: 'cmd', args: ['a'], json: true }],
    ['CMD []', { kind: 'cmd', args: [], json: true }],
    ['ENTRYPOINT exec app', { kind: 'entrypoint', args: ['exec app'], json: false }],
    ['LABEL a=1 "b c"="d e"', { kind: 'label', pairs: [{ key: 'a', value: '1' }, { key: '"b c"', value: '"d e"' }] }],
    ['MAINTAINER me <me@x>', { kind: 'maintainer', maintainer: 'me <me@x>' }],
    ['EXPOSE 80/tcp 53/udp', { kind: 'expose', ports: ['80/tcp', '53/udp'] }],
    ['ENV A=1 B="x y"', { kind: 'env', pairs: [{ key: 'A', value: '1' }, { key: 'B', value: '"x y"' }] }],
    ['ENV A x y', { kind: 'env', pairs: [{ key: 'A', value: 'x y' }] }],
    ['ADD --chown=1:2 --chmod=644 --link --keep-git-dir --checksum=sha256:ab --unpack=false --exclude=*.md a b /d/',
      { kind: 'add', sources: ['a', 'b'], dest: '/d/', chown: '1:2', chmod: '644', isLink: true, keepGitDir: true, checksum: 'sha256:ab', unpack: false, excludes: ['*.md'] }],
    ['COPY --from=build --chmod=u+x,g-w --link=false --parents --exclude=a --exclude=b ["x y", "/d"]',
      { kind: 'copy', from: 'build', chmod: 'u+x,g-w', isLink: false, isParents: true, excludes: ['a', 'b'], sources: ['x y'], dest: '/d', json: true }],
    ['VOLUME ["/a", "/b"]', { kind: 'volume', paths: ['/a', '/b'] }],
    ['VOLUME /a /b', { kind: 'volume', paths: ['/a', '/b'] }],
    ['USER app:app', { kind: 'user', user: 'app:app' }],
    ['WORKDIR /src', { kind: 'workdir', path: '/src' }],
    ['ARG A B=2 C=', { kind: 'arg', args: [{ key: 'A' }, { key: 'B', value: '2' }, { key: 'C', value: '' }] }],
    ['STOPSIGNAL SIGTERM', { kind: 'stopsignal', signal: 'SIGTERM' }],
    ['HEALTHCHECK NONE', { kind: 'healthcheck', isNone: true }],
    ['HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=0s --start-interval=2s --retries=3 CMD curl -f x',
      { kind: 'healthcheck', isNone: false, test: { args: ['curl -f x'], json: false }, interval: 90e9, timeout: 500e6, startPeriod: 0, startInterval: 2e9, retries: 3 }],
    ['HEALTHCHECK cmd ["check"]', { kind: 'healthcheck', test: { args: ['check'], json: true } }],
    ['SHELL ["/bin/bash", "-c"]', { kind: 'shell', shell: ['/bin/bash', '-c'] }],
  ])('%s', (line, want) => {
    expect(one(line)).toMatchObject(want)
  })

  test('ONBUILD carries a checked nested instruction', () => {
    const i = one('ONBUILD COPY --from=x a /b')
    expect(i).toMatchObject({ kind: 'onbuild', expression: 'COPY --from=x a /b', instruction: { kind: 'copy', from: 'x', sources: ['a'] } })
  })

  test('RUN heredocs are kept, with <<- tabs stripped', () => {
    const i = parseInstruction(parse('RUN <<-EOF\n\techo hi\nEOF\n').nodes[0]!)
    expect(i).toMatchObject({ kind: 'run', args: ['<<-EOF'], heredocs: [{ name: 'EOF', content: 'echo hi\n', chomp: true }] })
  })

  test('COPY heredoc sources become inline contents', () => {
    const i = parseInstruction(parse('COPY <<A <<"B" src /dst/\none $X\nA\ntwo\nB\n').nodes[0]!)
    expect(i).toMatchObject({
      kind: 'copy', sources: ['src'], dest: '/dst/',
      sourceContents: [{ path: 'A', data: 'one $X\n', expand: true }, { path: 'B', data: 'two\n', expand: false }],
    })
  })

  test('ranges are kept on instructions', () => {
    const i = parseInstruction(parse('FROM a\n  RUN x \\\n  y\n').nodes[1]!)
    expect(i.range).toEqual({ start: { line: 2, character: 2 }, end: { line: 3, character: 3 } })
  })
})

describe('errors', () => {
  test.each([
    ['RUNN echo', 'UNKNOWN_INSTRUCTION', /unknown instruction: RUNN \(did you mean RUN\?\)/],
    ['COPPY a b', 'UNKNOWN_INSTRUCTION', /did you mean COPY\?/],
    ['FLUBBER x', 'UNKNOWN_INSTRUCTION', /unknown instruction: FLUBBER$/],
    ['COPY --chmode=644 a b', 'INVALID_INSTRUCTION', /unknown flag for COPY: --chmode \(did you mean --chmod\?\)/],
    ['CMD --x=1 a', 'INVALID_INSTRUCTION', /unknown flag for CMD: --x \(CMD takes no flags\)/],
    ['COPY --link=maybe a b', 'INVALID_INSTRUCTION', /expecting boolean value for flag --link, not: maybe/],
    ['COPY --from a b', 'INVALID_INSTRUCTION', /missing a value on flag: --from/],
    ['COPY --from=a --from=b a b', 'INVALID_INSTRUCTION', /duplicate flag specified: --from/],
    ['COPY --chmod=999 a b', 'INVALID_INSTRUCTION', /invalid --chmod value/],
    ['COPY a', 'INVALID_INSTRUCTION', /requires at least two arguments/],
    ['COPY a <<EOF\nEOF', 'INVALID_INSTRUCTION', /cannot accept a heredoc as a destination/],
    ['COPY --from=$X a b', 'INVALID_INSTRUCTION', /doesn't support variable expansion/],
    ['ADD a', 'INVALID_INSTRUCTION', /requires at least two arguments/],
    ['FROM', 'INVALID_INSTRUCTION', /FROM requires either one or three arguments/],
    ['FROM a b', 'INVALID_INSTRUCTION', /FROM requires either one or three arguments/],
    ['FROM a AS 1x', 'INVALID_INSTRUCTION', /invalid name for build stage/],
    ['RUN', 'INVALID_INSTRUCTION', /RUN requires at least one argument/],
    ['RUN --network=bridge x', 'INVALID_INSTRUCTION', /unsupported --network value "bridge"/],
    ['RUN --security=root x', 'INVALID_INSTRUCTION', /unsupported --security value/],
    ['RUN --mount=type=cahce,target=/c x', 'INVALID_INSTRUCTION', /unsupported mount type "cahce" \(did you mean cache\?\)/],
    ['LABEL', 'INVALID_INSTRUCTION', /LABEL requires at least one argument/],
    ['ENV', 'INVALID_INSTRUCTION', /ENV requires at least one argument/],
    ['EXPOSE', 'INVALID_INSTRUCTION', /EXPOSE requires at least one argument/],
    ['MAINTAINER', 'INVALID_INSTRUCTION', /MAINTAINER requires exactly one argument/],
    ['USER', 'INVALID_INSTRUCTION', /USER requires exactly one argument/],
    ['WORKDIR', 'INVALID_INSTRUCTION', /WORKDIR requires exactly one argument/],
    ['STOPSIGNAL', 'INVALID_INSTRUCTION', /STOPSIGNAL requires exactly one argument/],
    ['VOLUME', 'INVALID_INSTRUCTION', /VOLUME requires at least one argument/],
    ['VOLUME ["/a", ""]', 'INVALID_INSTRUCTION', /can not be an empty string/],
    ['ARG', 'INVALID_INSTRUCTION', /ARG requires at least one argument/],
    ['ARG =x', 'INVALID_INSTRUCTION', /ARG names can not be blank/],
    ['ONBUILD', 'INVALID_INSTRUCTION', /ONBUILD requires at least one argument/],
    ['ONBUILD ONBUILD RUN x', 'INVALID_INSTRUCTION', /Chaining ONBUILD/],
    ['ONBUILD FROM x', 'INVALID_INSTRUCTION', /FROM isn't allowed as an ONBUILD trigger/],
    ['ONBUILD RUNN x', 'UNKNOWN_INSTRUCTION', /did you mean RUN\?/],
    ['HEALTHCHECK', 'INVALID_INSTRUCTION', /HEALTHCHECK requires at least one argument/],
    ['HEALTHCHECK NONE x', 'INVALID_INSTRUCTION', /HEALTHCHECK NONE takes no arguments/],
    ['HEALTHCHECK --interval=5s NONE', 'INVALID_INSTRUCTION', /HEALTHCHECK NONE takes no flags/],
    ['HEALTHCHECK CMD', 'INVALID_INSTRUCTION', /Missing command after HEALTHCHECK CMD/],
    ['HEALTHCHECK CONNECT x', 'INVALID_INSTRUCTION', /Unknown type "CONNECT" in HEALTHCHECK/],
    ['HEALTHCHECK --interval=5 CMD x', 'INVALID_INSTRUCTION', /invalid duration for --interval/],
    ['HEALTHCHECK --timeout=10us CMD x', 'INVALID_INSTRUCTION', /cannot be less than 1ms/],
    ['HEALTHCHECK --retries=-1 CMD x', 'INVALID_INSTRUCTION', /--retries cannot be negative/],
    ['HEALTHCHECK --retries=abc CMD x', 'INVALID_INSTRUCTION', /invalid --retries value/],
    ['SHELL /bin/sh -c', 'INVALID_INSTRUCTION', /SHELL requires the arguments to be in JSON form/],
    ['SHELL []', 'INVALID_INSTRUCTION', /SHELL requires at least one argument/],
  ] as Array<[string, ErrorCode, RegExp]>)('%s', (text, code, message) => {
    let err: unknown
    try { parseInstruction(parse(`FROM a\n${text}\n`, { file: 'x/Dockerfile' }).nodes[1]!, { file: 'x/Dockerfile' }) } catch (e) { err = e }
    expect(err).toBeInstanceOf(DockerfileError)
    expect(hasCode(err, code)).toBe(true)
    expect((err as Error).message).toMatch(message)
    expect((err as DockerfileError).file).toBe('x/Dockerfile')
    expect((err as DockerfileError).ranges[0]!.start).toEqual({ line: 2, character: 0 })
  })
})
