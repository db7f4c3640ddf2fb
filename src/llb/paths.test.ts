import { posix } from 'node:path'
import { describe, expect, test } from 'vitest'
import { hasCode } from '../common/errors.js'
import { joinRoot, resolvePath, shlexSplit } from './paths.js'
import { normalizeImageRef } from './reference.js'

describe('resolvePath', () => {
  test.each([
    ['/app', 'a/b', false, '/app/a/b'],
    ['/app', '../x', false, '/x'],
    ['/app', '../../..', false, '/'],
    ['/app', '/abs/', false, '/abs'],
    ['/app', './', true, '/app/'],
    ['/app', '.', true, '/app/'],
    ['/app', 'd/.', true, '/app/d/'],
    ['/app', 'd/', true, '/app/d/'],
    ['/', '/', true, '/'],
    ['/app', 'file', true, '/app/file'],
  ])('resolvePath(%s, %s, keepSlash=%s) = %s', (cwd, p, keep, want) => {
    expect(resolvePath(cwd, p, { keepTrailingSlash: keep })).toBe(want)
  })

  test('agrees with path.posix.resolve on every combination of tricky segments', () => {
    // The fast path for clean paths must give exactly what the general case gives.
    const parts = ['', '/', 'a', '.', '..', 'b/', '/c', './d', '../e', 'f//g', '.h', '..i', 'j.', '/k/./l', '/m/../n', '...']
    const cwds = ['/', '/app', '/app/', '//x', '/a/./b', '/a/../b', 'rel', '/a..b/c.']
    for (const cwd of cwds) {
      for (const x of parts) {
        for (const y of parts) {
          const p = x + y
          expect(resolvePath(cwd, p), `${cwd} + ${p}`).toBe(posix.resolve('/', cwd, p))
        }
      }
    }
  })

  test('joinRoot agrees with path.posix.join("/", p), trailing slash included', () => {
    const parts = ['', '/', 'a', '.', '..', 'b/', '/c', './d', '../e', 'f//g', '.h', '..i', 'j.', '/k/./l', '/m/../n', '...', '//']
    for (const x of parts) {
      for (const y of parts) expect(joinRoot(x + y), x + y).toBe(posix.join('/', x + y))
    }
  })
})

describe('shlexSplit', () => {
  test.each([
    ['echo a  b', ['echo', 'a', 'b']],
    [`sh -c 'echo $HOME'`, ['sh', '-c', 'echo $HOME']],
    ['echo "a \\"b\\" c"', ['echo', 'a "b" c']],
    ['a\\ b c', ['a b', 'c']],
    ['x""y \'\'', ['xy', '']],
    ['', []],
  ])('%j', (s, want) => {
    expect(shlexSplit(s)).toEqual(want)
  })

  test('an unterminated quote is a user error', () => {
    let err: unknown
    try { shlexSplit('echo "oops') } catch (e) { err = e }
    expect(hasCode(err, 'INVALID_INSTRUCTION')).toBe(true)
  })
})

describe('normalizeImageRef', () => {
  test.each([
    ['alpine', 'docker.io/library/alpine:latest'],
    ['alpine:3.20', 'docker.io/library/alpine:3.20'],
    ['user/app', 'docker.io/user/app:latest'],
    ['index.docker.io/library/busybox:1', 'docker.io/library/busybox:1'],
    ['localhost:5000/app', 'localhost:5000/app:latest'],
    ['127.0.0.1:5000/a/b:v1', '127.0.0.1:5000/a/b:v1'],
    [`alpine@sha256:${'a'.repeat(64)}`, `docker.io/library/alpine@sha256:${'a'.repeat(64)}`],
    [`alpine:3@sha256:${'b'.repeat(64)}`, `docker.io/library/alpine:3@sha256:${'b'.repeat(64)}`],
  ])('%s → %s', (ref, want) => {
    expect(normalizeImageRef(ref)).toBe(want)
  })

  test.each(['', 'Alpine', 'alpine:', 'alpine@sha256:xyz', 'a//b', 'alpine:bad tag'])('%j is rejected', (ref) => {
    let err: unknown
    try { normalizeImageRef(ref) } catch (e) { err = e }
    expect(hasCode(err, 'INVALID_REFERENCE')).toBe(true)
  })
})
