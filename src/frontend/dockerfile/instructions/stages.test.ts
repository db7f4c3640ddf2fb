import { expect, test } from 'vitest'
import { hasCode, type ErrorCode } from '../../../common/errors.js'
import { parseDockerfile } from './stages.js'

test('groups instructions into stages and collects meta args', () => {
  const df = parseDockerfile([
    '# syntax=docker/dockerfile:1',
    'ARG BASE=alpine',
    'ARG TAG',
    'FROM $BASE:$TAG AS Base',
    'RUN echo one',
    'FROM base',
    'COPY --from=base /a /b',
    'CMD ["x"]',
  ].join('\n') + '\n', { file: 'Dockerfile' })
  expect(df.metaArgs.map(a => a.args)).toEqual([[{ key: 'BASE', value: 'alpine' }], [{ key: 'TAG' }]])
  expect(df.stages.map(s => [s.name, s.index, s.from.image, s.commands.map(c => c.kind)])).toEqual([
    ['base', 0, '$BASE:$TAG', ['run']],
    [undefined, 1, 'base', ['copy', 'cmd']],
  ])
  expect(df.directives[0]).toMatchObject({ name: 'syntax', value: 'docker/dockerfile:1' })
  expect(df.escapeToken).toBe('\\')
})

test('keeps the comment lines directly above each instruction, by its first line', () => {
  const df = parseDockerfile([
    '# VERSION the release',
    'ARG VERSION=1',
    '',
    '# build compiles',
    '# everything',
    'FROM alpine AS build',
    'RUN make',
  ].join('\n') + '\n')
  expect([...df.comments]).toEqual([[2, ['VERSION the release']], [6, ['build compiles', 'everything']]])
})

test.each([
  ['RUN x\nFROM a\n', 'INVALID_INSTRUCTION', /Dockerfile:1: no build stage in current context: RUN before the first FROM/],
  ['ARG A\n', 'INVALID_INSTRUCTION', /contains no stages to build/],
  ['FROM a AS x\nFROM b AS X\n', 'INVALID_INSTRUCTION', /Dockerfile:2: duplicate stage name "x"/],
  ['FROM a\nRUNN x\n', 'UNKNOWN_INSTRUCTION', /Dockerfile:2: unknown instruction: RUNN \(did you mean RUN\?\)/],
  ['\n', 'DOCKERFILE_SYNTAX', /file with no instructions/],
] as Array<[string, ErrorCode, RegExp]>)('rejects %j', (text, code, message) => {
  let err: unknown
  try { parseDockerfile(text) } catch (e) { err = e }
  expect(hasCode(err, code)).toBe(true)
  expect((err as Error).message).toMatch(message)
})

test('5,000 instructions parse and convert to typed stages quickly', () => {
  const lines = ['FROM busybox AS base']
  for (let i = 0; i < 5000; i++) {
    lines.push(i % 4 === 0 ? `RUN --mount=type=cache,target=/c${i} echo ${i}` : i % 4 === 1 ? `ENV K${i}=v${i}` : i % 4 === 2 ? `COPY --chmod=644 a${i} /b/` : `LABEL l${i}=v`)
  }
  const text = lines.join('\n') + '\n'
  let best = Infinity
  for (let i = 0; i < 5; i++) { // best of several, in CPU time: the first run pays for JIT warm-up and the host is shared
    const start = process.cpuUsage()
    expect(parseDockerfile(text).stages[0]!.commands).toHaveLength(5000)
    const used = process.cpuUsage(start)
    best = Math.min(best, (used.user + used.system) / 1000)
  }
  // A guard against super-linear work, with room for a loaded CI machine; `npm run bench` holds the real bar.
  expect(best).toBeLessThan(400)
})

test('a syntax error anywhere is reported before an earlier instruction error, as BuildKit parses the whole file first', () => {
  const text = 'FROM busybox\nEXPOSE\nRUN <<EOF\necho never terminated\n'
  expect(() => parseDockerfile(text)).toThrow(/Dockerfile:3: unterminated heredoc/)
  // Without the syntax error the instruction error is the one reported.
  expect(() => parseDockerfile('FROM busybox\nEXPOSE\n')).toThrow(/Dockerfile:2: EXPOSE requires at least one argument/)
})
