import { describe, expect, test } from 'vitest'
import { PatternSyntaxError, ShellPattern } from './index.js'

const compile = (p: string): ShellPattern => ShellPattern.compile(p, '\\')

describe('trimPrefix / trimSuffix', () => {
  test.each([
    // pattern, value, shortest prefix removed, longest prefix removed
    ['*', 'xxyy', 'xxyy', ''],
    ['', 'xxyy', 'xxyy', 'xxyy'],
    ['*x', 'xxyy', 'xyy', 'yy'],
    ['*x*y', 'xxyy', 'y', ''],
    ['?\\?', '???y', '?y', '?y'],
    ['x', 'yx', 'yx', 'yx'],
    ['()[]{\\}^$.\\*\\?|\\\\', '()[]{}^$.*?|\\x', 'x', 'x'],
    ['[a-c]', 'bcd', 'cd', 'cd'],
    ['[a-c]*', 'bcd', 'cd', ''],
    ['[!a-c]', 'bcd', 'bcd', 'bcd'],
    ['[^d]?', 'bcd', 'd', 'd'],
    ['[[:digit:]]*[[:space:]]', '12 34 x', '34 x', 'x'],
    ['[]]', ']a', 'a', 'a'],
    ['[\\]x]*', 'x]a', ']a', ''],
    ['a[', 'a[b', 'b', 'b'],
    ['🚀?', '🚀👽x', 'x', 'x'],
  ])('#%s on %s', (pattern, value, shortest, longest) => {
    expect(compile(pattern).trimPrefix(value, false)).toBe(shortest)
    expect(compile(pattern).trimPrefix(value, true)).toBe(longest)
  })

  test.each([
    ['*', 'xxyy', 'xxyy', ''],
    ['\\**\\*', 'a***yy*', 'a**', 'a'],
    ['.*', 'file.tar.gz', 'file.tar', 'file'],
    ['[0-9]', 'v12', 'v1', 'v1'],
    ['?👽', '🚀🖖👽', '🚀', '🚀'],
  ])('%%%s on %s', (pattern, value, shortest, longest) => {
    expect(compile(pattern).trimSuffix(value, false)).toBe(shortest)
    expect(compile(pattern).trimSuffix(value, true)).toBe(longest)
  })
})

describe('replace', () => {
  test.each([
    ['\\*/', '/foo*/*/*.txt', '.', '/foo.*/*.txt', '/foo..*.txt'],
    ['/tmp', '/tmp/tmp/bar.txt', '', '/tmp/bar.txt', '/bar.txt'],
    ['/?/', '/a/foo/b/c.txt', '/', '/foo/b/c.txt', '/foo/c.txt'],
    ['o*', 'foo boo', '0', 'f0', 'f0'],
    ['', 'xxyy', 'ww', 'wwxxyy', 'wwxwwxwwywwyww'],
    ['x*', 'axxb', '-', 'a-', 'a-'],
    ['[ab]', 'cabc', '.', 'c.bc', 'c..c'],
    ['q', 'abc', '.', 'abc', 'abc'],
  ])('/%s/ on %s', (pattern, value, replacement, first, all) => {
    expect(compile(pattern).replace(value, replacement, false)).toBe(first)
    expect(compile(pattern).replace(value, replacement, true)).toBe(all)
  })
})

describe('syntax', () => {
  test.each(['\\', '\\x', 'a\\\\\\'])('%s is invalid', pattern => {
    expect(() => compile(pattern)).toThrow(PatternSyntaxError)
  })

  test('the escape token is whatever the Dockerfile says', () => {
    const p = ShellPattern.compile('`*\\', '`')
    expect(p.trimPrefix('*\\rest', false)).toBe('rest')
  })

  test('long values with stars stay fast', () => {
    const value = 'ab'.repeat(50_000)
    const started = performance.now()
    expect(compile('*a*b*c').replace(value, 'x', true)).toBe(value)
    expect(performance.now() - started).toBeLessThan(2_000)
  })
})
