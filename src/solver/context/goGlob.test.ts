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
    ['[]a]', ']', true], // a leading `]` is a member
    ['[]a]', 'a', true],
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
})
