import { describe, expect, test } from 'vitest'
import { compileGoPattern } from './goGlob.js'

// Go's filepath.Match, one path element at a time (what COPY sources use).
describe('compileGoPattern', () => {
  test.each<[string, string, boolean]>([
    ['*.json', 'a.json', true],
    ['*.json', 'dir/a.json', false],
    ['**.ts', 'app.ts', true], // `**` is `*`
    ['a**b', 'axyb', true],
    ['[!a].json', 'b.json', false], // Go: only ^ negates, ! is a member
    ['[!a].json', 'a.json', true],
    ['[!a].json', '!.json', true],
    ['[^a].json', 'a.json', false],
    ['[a-c]x', 'bx', true],
    ['arr[[]0].txt', 'arr[0].txt', true], // the Dockerfile docs' way to name a `[`
    ['[z-a]', 'b', false], // a reversed range is valid and holds nothing
    ['[^z-a]', 'b', true],
    ['[a-cx-z]', 'y', true],
    ['[\\\\-\\]]', ']', true], // escaped range ends: \ to ]
    ['[\\\\-\\]]', '^', false],
    ['[\\-\\]]', '-', true], // escaped members, no range
    ['[😀-😂]', '😁', true],
    ['[\\]]', ']', true],
    ['[\\a]', 'a', true],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'axb', false],
    ['?', '😀', true], // one character, not one UTF-16 unit
    ['??', '😀', false],
    ['[😀é]', 'é', true],
    ['.', 'x', false],
    ['a.b', 'a.b', true],
    ['x{1}', 'x{1}', true],
    ['new?line', 'new\nline', true],
  ])('%s matches %j: %s', (pattern, name, want) => {
    expect(compileGoPattern(pattern).test(name)).toBe(want)
  })

  // Go's filepath.Match returns ErrBadPattern for these; BuildKit's COPY fails with it.
  test.each(['[', '[abc', '[]', '[^]', '[]a]', '[a-]', '[-a]', '[a--]', 'a\\', '[a\\'])('%s is a syntax error, not a literal', (pattern) => {
    expect(() => compileGoPattern(pattern)).toThrow(`syntax error in pattern ${JSON.stringify(pattern)}`)
  })
})
