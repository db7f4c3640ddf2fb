import { describe, expect, test } from 'vitest'
import { PatternMatcher } from './patternMatcher.js'
import { parseDockerignore } from './dockerignore.js'
import { cleanPath } from './cleanPath.js'

// Cases follow the behaviour of Docker's patternmatcher (MatchesOrParentMatches).
describe('single pattern', () => {
  test.each<[string, string, boolean]>([
    ['**', 'file', true],
    ['**/', 'file', true],
    ['**', 'dir/file', true],
    ['**/**', 'dir/file', true],
    ['dir/**', 'dir/file', true],
    ['dir/**', 'dir/a/b/file', true],
    ['**/dir', 'dir', true],
    ['**/dir', 'dir/file', true],
    ['**/dir', 'a/b/dir/file', true],
    ['**/dir2/*', 'dir/dir2/file', true],
    ['**/dir2/**', 'dir/dir2/dir3/file', true],
    ['**file', 'file', true],
    ['**file', 'dir/dir/file', true],
    ['**/file', 'dir/dir/file', true],
    ['**/file*', 'dir/dir/file.txt', true],
    ['**/file*txt', 'dir/dir/file.txt', true],
    ['**/file*.txt*', 'dir/dir/file.txt', true],
    ['**/**/*.txt', 'dir/dir/file.txt', true],
    ['**/**/*.txt2', 'dir/dir/file.txt', false],
    ['**/*.txt', 'file.txt', true],
    ['a**/*.txt', 'a/dir/dir/file.txt', true],
    ['a/*.txt', 'a/dir/file.txt', false],
    ['a/*.txt', 'a/file.txt', true],
    ['a/*.txt**', 'a/file.txt', true],
    ['a[b-d]e', 'ae', false],
    ['a[b-d]e', 'ace', true],
    ['a[b-d]e', 'aae', false],
    ['a[^b-d]e', 'aze', true],
    ['.*', '.foo', true],
    ['.*', 'foo', false],
    ['abc.def', 'abcdef', false],
    ['abc.def', 'abc.def', true],
    ['abc?def', 'abcZdef', true],
    ['abc?def', 'abcdef', false],
    ['**/foo/bar', 'foo/bar', true],
    ['**/foo/bar', 'dir/dir2/foo/bar', true],
    ['abc/**', 'abc', false],
    ['abc/**', 'abc/def/ghi', true],
    ['**/.foo', '.foo', true],
    ['**/.foo', 'bar.foo', false],
    ['a(b)c/def', 'a(b)c/def', true],
    ['a(b)c/def', 'a(b)c/xyz', false],
    ['a.|)$(}+{bc', 'a.|)$(}+{bc', true],
    ['dist/*.whl', 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', true],
    ['a\\\\', 'a\\', true],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'ab', false],
    ['*', 'abc', true],
    ['*c', 'abc', true],
    ['a*', 'ab/c', true], // the parent `ab` matches
    ['a*/b', 'abc/b', true],
    ['a*/b', 'a/c/b', false],
    ['a*b*c*d*e*/f', 'axbxcxdxexxx/f', true],
    ['a*b*c*d*e*/f', 'axbxcxdxe/xxx/f', false],
    ['a*b?c*x', 'abxbbxdbxebxczzx', true],
    ['a*b?c*x', 'abxbbxdbxebxczzy', false],
    ['ab[^e-g]', 'abc', true],
    ['ab[^c]', 'abc', false],
    ['a?b', 'a☺b', true],
    ['a[^a]b', 'a☺b', true],
    ['a???b', 'a☺b', false],
    ['[a-ζ]*', 'α', true],
    ['*[a-ζ]', 'A', false],
    ['a?b', 'a/b', false],
    ['a*b', 'a/b', false],
    ['[\\]a]', ']', true],
    ['[\\-]', '-', true],
    ['[x\\-]', '-', true],
    ['[x\\-]', 'z', false],
    ['[\\-x]', 'x', true],
    ['*x', 'xxx', true],
    ['docs/', 'docs/README.md', true],
    ['docs', 'docs/a/b', true],
    ['docs', 'docsx', false],
  ])('%s vs %s → %s', (pattern, path, want) => {
    expect(new PatternMatcher([pattern]).matches(path)).toBe(want)
  })

  test.each(['[]a]', '[-]', '[x-]', '[-x]', '\\', '[a-b-c]', '[', '[^', '[^bc', 'a[', '!'])('malformed %s is rejected', (pattern) => {
    expect(() => new PatternMatcher([pattern])).toThrow(/pattern/)
  })

  test('the root is never matched', () => {
    expect(new PatternMatcher(['*', '**']).matches('.')).toBe(false)
  })
})

describe('several patterns, last match wins', () => {
  test.each<[string[], string, boolean]>([
    [['!fileutils.go', '*.go'], 'fileutils.go', true],
    [['*.go', '!fileutils.go'], 'fileutils.go', false],
    [['docs', '!docs/README.md'], 'docs/README.md', false],
    [['docs/', '!docs/README.md'], 'docs/README.md', false],
    [['docs/*', '!docs/README.md'], 'docs/README.md', false],
    [['docs', '!docs/README.md'], 'docs/other.md', true],
    [['**', '!util/docker/web'], 'util/docker/web/foo', false],
    [['**', '!util/docker/web', 'util/docker/web/foo'], 'util/docker/web/foo', true],
    [['**', '!dist/*.whl'], 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', false],
    [['*', '!keep', 'keep/secret'], 'keep/secret', true],
    [['*', '!keep', 'keep/secret'], 'keep/public', false],
  ])('%j on %s → %s', (patterns, path, want) => {
    expect(new PatternMatcher(patterns).matches(path)).toBe(want)
  })

  test('reusing parent results gives the same answers as matching from scratch', () => {
    const m = new PatternMatcher(['a', '!a/b', 'a/b/c*', '**/x'])
    const paths = ['a', 'a/b', 'a/b/c1', 'a/b/d', 'a/b/d/x', 'a/z']
    const info = new Map<string, readonly boolean[]>()
    for (const p of paths) {
      const parent = p.includes('/') ? info.get(p.slice(0, p.lastIndexOf('/'))) : undefined
      const r = m.match(p, parent ?? (p.includes('/') ? undefined : []))
      info.set(p, r.matches)
      expect(r.isMatch, p).toBe(m.matches(p))
    }
  })

  test.each<[string[], string, boolean]>([
    [['node_modules'], 'node_modules', false],
    [['node_modules', '!node_modules/keep'], 'node_modules', true],
    [['node_modules', '!node_modules/keep'], 'other', false],
    [['a', '!*/keep'], 'a', true],
    [['a', '!b/keep'], 'a', false],
    [['a', '!**/keep'], 'a', true],
    [['a/b', '!a/b/c/d'], 'a/b/c', true],
    [['a/b', '!a/b/c/d'], 'a/b/e', false],
  ])('%j: an exception may match below %s → %s', (patterns, dir, want) => {
    expect(new PatternMatcher(patterns).mayIncludeBelow(dir)).toBe(want)
  })
})

describe('.dockerignore text', () => {
  test('comments, blanks, BOM, cleaning, anchoring, exceptions', () => {
    const text = '\uFEFF# comment\n\n  /foo/../bar/  \r\n!  /keep//me\n ## not a comment\n./a/./b\n/\n*.tmp'
    expect(parseDockerignore(text)).toEqual(['bar', '!keep/me', '## not a comment', 'a/b', '/', '*.tmp'])
  })

  test('a bad pattern names the file and line', () => {
    expect(() => parseDockerignore('ok\n[oops\n', '/ctx/.dockerignore')).toThrow('/ctx/.dockerignore:2')
  })

  test.each<[string, string]>([
    ['', '.'], ['/', '/'], ['a//b/', 'a/b'], ['/../a', '/a'], ['../a', '../a'], ['a/../..', '..'], ['./a/.', 'a'],
  ])('cleanPath(%j) = %j', (input, want) => {
    expect(cleanPath(input)).toBe(want)
  })
})
