import { describe, expect, test } from 'vitest'
import { hasCode } from './errors.js'
import { parseGitRef, parseGoBool, redactUrl, stripUrlCredentials } from './gitRef.js'

describe('parseGitRef', () => {
  test.each([
    ['https://github.com/org/repo.git', { remote: 'https://github.com/org/repo.git', shortName: 'repo' }],
    ['https://github.com/org/repo.git#v1.2:docker', { remote: 'https://github.com/org/repo.git', ref: 'v1.2', subdir: 'docker' }],
    ['http://127.0.0.1:8080/repo.git#main', { remote: 'http://127.0.0.1:8080/repo.git', ref: 'main' }],
    ['git://host/repo.git', { remote: 'git://host/repo.git' }],
    ['git://host:9418/org/repo#feature/x:a/b/', { remote: 'git://host:9418/org/repo', ref: 'feature/x', subdir: 'a/b' }],
    ['ssh://git@host:2222/org/repo.git#:sub', { remote: 'ssh://git@host:2222/org/repo.git', subdir: 'sub' }],
    ['git@host:org/repo.git#main:sub', { remote: 'git@host:org/repo.git', ref: 'main', subdir: 'sub', shortName: 'repo' }],
    ['deploy@gitea.local:repo.git', { remote: 'deploy@gitea.local:repo.git' }],
    ['github.com/org/repo', { remote: 'https://github.com/org/repo', isIndistinguishableFromLocal: true, shortName: 'repo' }],
    ['github.com/org/repo#dev', { remote: 'https://github.com/org/repo', ref: 'dev', isIndistinguishableFromLocal: true }],
    ['https://host/repo.git#main:../../etc', { ref: 'main', subdir: 'etc' }],
  ])('%s is git', (input, want) => {
    const ref = parseGitRef(input)
    expect(ref).toBeDefined()
    expect(ref).toMatchObject({ isIndistinguishableFromLocal: false, ...want })
  })

  test('an empty fragment names no ref and no subdir', () => {
    expect(parseGitRef('https://host/repo.git#')).toEqual({ remote: 'https://host/repo.git', shortName: 'repo', isIndistinguishableFromLocal: false })
  })

  test.each([
    ['https://example.com/context.tar.gz'],
    ['https://github.com/org/repo'], // BuildKit: an http(s) remote needs the .git suffix
    ['https://example.com/Dockerfile'],
    ['ftp://host/repo.git'],
    ['.'],
    ['./repo.git'],
    ['../repo.git'],
    ['/srv/repo.git'],
    ['some/dir'],
    ['gitlab.com/org/repo'],
  ])('%s is not git', (input) => {
    expect(parseGitRef(input)).toBeUndefined()
  })

  test.each([
    ['https://host/repo.git?ref=main&subdir=docker', { ref: 'main', subdir: 'docker' }],
    ['https://host/repo.git?tag=v1', { ref: 'refs/tags/v1' }],
    ['https://host/repo.git?branch=dev', { ref: 'refs/heads/dev' }],
    ['https://host/repo.git?branch=refs/heads/dev', { ref: 'refs/heads/dev' }],
    [`git@host:repo.git?checksum=${'a'.repeat(40)}`, { checksum: 'a'.repeat(40), remote: 'git@host:repo.git' }],
    ['https://host/repo.git?keep-git-dir', { keepGitDir: true }],
    ['https://host/repo.git?keep-git-dir=false', { keepGitDir: false }],
    ['https://host/repo.git?ref=main#main:sub', { ref: 'main', subdir: 'sub', remote: 'https://host/repo.git' }],
  ])('query form %s', (input, want) => {
    expect(parseGitRef(input)).toMatchObject(want)
  })

  test.each([
    ['https://host/repo.git?ref=a#b', /ref conflicts: "b" vs "a"/],
    ['https://host/repo.git?tag=v1&branch=main', /branch conflicts with tag/],
    ['https://host/repo.git?subdir=x#:y', /subdir conflicts/],
    ['https://host/repo.git?ref=', /query "ref" has no value/],
    ['https://host/repo.git?ref=a&ref=b', /multiple values/],
    ['https://host/repo.git?submodules=true', /unexpected query "submodules"/],
    ['https://host/repo.git?checksum=abc', /full 40-character commit/],
    ['https://u:secret@host/repo.git?keep-git-dir=maybe', /invalid git URL https:\/\/u:xxxxx@host\/repo\.git.*keep-git-dir/],
  ])('a bad query %s is a usage error', (input, message) => {
    let err: unknown
    try { parseGitRef(input) } catch (e) { err = e }
    expect(hasCode(err, 'USAGE')).toBe(true)
    expect((err as Error).message).toMatch(message)
    expect((err as Error).message).not.toContain('secret')
  })
})

test.each([
  ['https://user:pa55@host/repo.git', 'https://user:xxxxx@host/repo.git'],
  ['https://ghp_token@host/repo.git', 'https://xxxxx@host/repo.git'],
  ['ssh://git@host/repo.git', 'ssh://git@host/repo.git'],
  ['git@host:repo.git', 'git@host:repo.git'],
  ["fatal: unable to access 'http://a:b@h/x.git/': refused", "fatal: unable to access 'http://a:xxxxx@h/x.git/': refused"],
  ['https://host/a@b', 'https://host/a@b'],
  ['https://user:se@cr3t@host/repo.git', 'https://user:xxxxx@host/repo.git'],
  ['https://tok@en@host/x and http://a:b@c@h/y', 'https://xxxxx@host/x and http://a:xxxxx@h/y'],
])('redactUrl(%s)', (input, want) => {
  expect(redactUrl(input)).toBe(want)
})

test.each([
  ['1', true], ['true', true], ['T', true], ['0', false], ['False', false], ['yes', undefined], ['', undefined],
])('parseGoBool(%j)', (input, want) => {
  expect(parseGoBool(input)).toBe(want)
})

test.each([
  ['https://user:pa55@host/repo.git', 'https://user@host/repo.git'],
  ['https://ghp_token@host/repo.git', 'https://host/repo.git'],
  ['ssh://git@host/repo.git', 'ssh://git@host/repo.git'],
  ['git://host/repo.git', 'git://host/repo.git'],
  ['https://user:se@cr3t@host/repo.git', 'https://user@host/repo.git'],
])('stripUrlCredentials(%s)', (input, want) => {
  expect(stripUrlCredentials(input)).toBe(want)
})
