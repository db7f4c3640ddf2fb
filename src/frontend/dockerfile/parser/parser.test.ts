import { describe, expect, test } from 'vitest'
import { DockerfileError } from '../../../common/errors.js'
import { dumpAst, goQuote, parse, parseHeredocWord } from './index.js'

const dump = (text: string): string => dumpAst(parse(text).nodes)

describe('heredocs', () => {
  test('body lines are attached and consumed, range covers the body', () => {
    const r = parse('FROM a\nRUN <<EOF\necho hi\n  echo there\nEOF\nRUN true\n')
    expect(r.nodes[1]!.heredocs).toEqual([{ name: 'EOF', fileDescriptor: 0, expand: true, chomp: false, content: 'echo hi\n  echo there\n' }])
    expect(r.nodes[1]!.range).toEqual({ start: { line: 2, character: 0 }, end: { line: 5, character: 3 } })
    expect(r.nodes[2]!.range.start.line).toBe(6)
  })

  test('several heredocs on one line are read in order', () => {
    const r = parse('FROM a\nCOPY <<X <<Y /dest/\nY\nX\nX\nY\n')
    expect(r.nodes[1]!.heredocs.map(h => [h.name, h.content])).toEqual([['X', 'Y\n'], ['Y', 'X\n']])
  })

  test('<<- matches an indented terminator and keeps the raw body', () => {
    const r = parse('FROM a\nRUN <<-EOT\n\tone\n\tEOT\n')
    expect(r.nodes[1]!.heredocs[0]).toMatchObject({ name: 'EOT', chomp: true, content: '\tone\n' })
  })

  test.each([
    ['<<EOF', { name: 'EOF', expand: true, chomp: false, fileDescriptor: 0 }],
    ['<<"EOF"', { name: 'EOF', expand: false }],
    ["<<'EOF'", { name: 'EOF', expand: false }],
    ["<<eo'f'", { name: 'eof', expand: false }],
    ["<<eo\\'f", { name: "eo'f", expand: true }],
    ['3<<-END', { name: 'END', fileDescriptor: 3, chomp: true }],
    ['<<$EOF', { name: '$EOF', expand: true }],
    ['<<  EOF', { name: 'EOF' }],
  ])('opener %s', (word, want) => {
    expect(parseHeredocWord(word)).toMatchObject(want)
  })

  test.each(['<<', 'a<<EOF', '<<EOF<', 'EOF'])('not an opener: %s', (word) => {
    expect(parseHeredocWord(word)).toBeUndefined()
  })

  test('only RUN, COPY, ADD (and ONBUILD of those) take heredocs; exec form does not', () => {
    const r = parse('FROM a\nUSER <<X\nX\nRUN ["cat", "<<EOF"]\nONBUILD RUN <<EOF\nbody\nEOF\nRUN "<<NO"\n')
    expect(r.nodes.map(n => n.value)).toEqual(['from', 'user', 'x', 'run', 'onbuild', 'run'])
    expect(r.nodes[4]!.next!.heredocs[0]!.content).toBe('body\n')
    expect(r.nodes[5]!.heredocs).toEqual([])
  })

  test('an unterminated heredoc is an error naming its line', () => {
    expect(() => parse('FROM a\nRUN <<EOF\necho\n', { file: 'Df' })).toThrow(/Df:2: unterminated heredoc/)
  })
})

describe('parser directives', () => {
  test('escape, syntax and check are read at the top, case-insensitively', () => {
    const r = parse('# Syntax = docker/dockerfile:1\n#ESCAPE=`\n# check=skip=all\nFROM a\nRUN a `\n  b\n')
    expect(r.escapeToken).toBe('`')
    expect(r.directives.map(d => [d.name, d.value, d.range.start.line])).toEqual([
      ['syntax', 'docker/dockerfile:1', 1], ['escape', '`', 2], ['check', 'skip=all', 3],
    ])
    expect(r.nodes[1]!.args).toEqual(['a   b'])
    expect(r.nodes[0]!.prevComment).toEqual([])
  })

  test.each([
    ['after a comment', '# hello\n# escape=`\nFROM a\n'],
    ['after a blank line', '\n# escape=`\nFROM a\n'],
    ['after an unknown directive', '# foo=bar\n# escape=`\nFROM a\n'],
    ['after an instruction', 'FROM a\n# escape=`\n'],
  ])('ignored %s', (_why, text) => {
    const r = parse(text)
    expect(r.escapeToken).toBe('\\')
    expect(r.directives).toEqual([])
  })

  test.each([
    ['repeated', '# escape=\\\n# escape=`\nFROM a\n', /only one escape parser directive/],
    ['bad escape', '# escape=x\nFROM a\n', /invalid escape token 'x'/],
  ])('error: %s', (_why, text, message) => {
    expect(() => parse(text)).toThrow(message)
  })
})

describe('continuations, comments and ranges', () => {
  test('comments and blank lines inside a continuation are dropped; blank ones warn', () => {
    const r = parse('FROM a\nRUN echo a \\\n# note\n\n  b\n')
    expect(r.nodes[1]!.args).toEqual(['echo a   b'])
    expect(r.warnings).toHaveLength(1)
    expect(r.warnings[0]).toMatchObject({ rule: 'NoEmptyContinuation', range: { start: { line: 5 } } })
  })

  test('ranges carry start column and end column', () => {
    const r = parse('FROM a\n\n   RUN x \\\n   y\n')
    expect(r.nodes[1]!.range).toEqual({ start: { line: 3, character: 3 }, end: { line: 4, character: 4 } })
    expect(r.range).toEqual({ start: { line: 1, character: 0 }, end: { line: 4, character: 4 } })
  })

  test('comments above an instruction are kept; a blank comment resets them', () => {
    const r = parse('# one\n#\n# two\n# three\nFROM a\n')
    expect(r.nodes[0]!.prevComment).toEqual(['two', 'three'])
  })

  test('CRLF line endings and a BOM are accepted', () => {
    expect(dump('\uFEFFFROM a\r\nRUN x \\\r\n y\r\n')).toBe('(from "a")\n(run "x  y")\n')
  })

  test('an empty file is an error', () => {
    expect(() => parse('\n# only a comment\n')).toThrow(DockerfileError)
  })
})

describe('argument forms', () => {
  test.each([
    ['CMD ["a", "b"]', '(cmd "a" "b")', true],
    ["CMD ['a']", '(cmd "[\'a\']")', false],
    ['CMD ["a", "b"', '(cmd "[\\"a\\", \\"b\\"")', false],
    ['RUN [ "a" ] extra', '(run "[ \\"a\\" ] extra")', false],
    ['COPY ["a b", "c"]', '(copy "a b" "c")', true],
    ['COPY [a b', '(copy "[a" "b")', false],
    ['ENV a=1 b="x y"', '(env "a" "1" "=" "b" "\\"x y\\"" "=")', false],
    ['ENV a b c', '(env "a" "b c" "")', false],
    ['ARG a b=2', '(arg "a" "b=2")', false],
    ['HEALTHCHECK NONE', '(healthcheck "NONE")', false],
    ['ONBUILD RUN --mount=type=cache x', '(onbuild (run ["--mount=type=cache"] "x"))', false],
    ['NOPE a b', '(nope "")', false],
  ])('%s', (line, want, json) => {
    const r = parse(`${line}\n`)
    expect(dumpAst(r.nodes)).toBe(`${want}\n`)
    expect(r.nodes[0]!.json || (r.nodes[0]!.next?.json ?? false)).toBe(json)
  })

  test('a JSON array with a non-string is an error', () => {
    expect(() => parse('CMD ["a", 1]\n')).toThrow(/arrays must be comprised of strings only/)
  })
})

test.each([
  ['plain', '"plain"'],
  ['tab\tnl\n', '"tab\\tnl\\n"'],
  ['\u0000\u007f', '"\\x00\\x7f"'],
  ['snow ☃', '"snow ☃"'],
  ['\u00a0', '"\\u00a0"'],
])('goQuote(%j)', (input, want) => {
  expect(goQuote(input)).toBe(want)
})

test('parses a 5,000-instruction Dockerfile quickly', () => {
  const lines = ['# syntax=docker/dockerfile:1', 'FROM busybox AS base']
  for (let i = 0; i < 5000; i++) {
    lines.push(i % 5 === 0
      ? `RUN --mount=type=cache,target=/c echo ${i} && \\\n    ls -la /tmp/${i}`
      : i % 5 === 1 ? `ENV K${i}=v${i} OTHER="x y"` : i % 5 === 2 ? `COPY ["a${i}", "/b/"]` : i % 5 === 3 ? `RUN <<EOF\necho ${i}\nEOF` : `LABEL l${i}=v`)
  }
  const text = lines.join('\n') + '\n'
  // Best of several, in CPU time: the first run pays for JIT warm-up and the host is shared.
  let best = Infinity
  for (let i = 0; i < 5; i++) {
    const start = process.cpuUsage()
    expect(parse(text).nodes).toHaveLength(5001)
    const used = process.cpuUsage(start)
    best = Math.min(best, (used.user + used.system) / 1000)
  }
  // A guard against super-linear parsing, with room for a loaded CI machine; `npm run bench` holds the real bar.
  expect(best).toBeLessThan(250)
})
