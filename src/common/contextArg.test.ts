import { expect, test } from 'vitest'
import { classifyContextArg, describeContextArg } from './contextArg.js'

test.each([
  ['.', 'local'],
  ['app', 'local'],
  ['/srv/app', 'local'],
  ['./repo.git', 'local'],
  ['-', 'stdin'],
  ['https://example.com/context.tar.gz', 'url'],
  ['http://127.0.0.1:8080/Dockerfile', 'url'],
  ['https://github.com/org/repo', 'url'],
  ['https://github.com/org/repo.git#v1.2:docker', 'git'],
  ['https://github.com/org/repo.git?ref=v1.2&subdir=docker', 'git'],
  ['git@host:org/repo.git#main:sub', 'git'],
  ['git://127.0.0.1:9418/repo.git', 'git'],
  ['ssh://git@host/repo.git', 'git'],
  ['github.com/org/repo', 'git'],
])('%s is a %s context', (arg, kind) => {
  expect(classifyContextArg(arg).kind).toBe(kind)
})

test('a git context keeps the ref and subdir of its fragment', () => {
  const c = classifyContextArg('git@host:org/repo.git#main:sub')
  expect(c).toMatchObject({ kind: 'git', url: 'git@host:org/repo.git#main:sub', git: { remote: 'git@host:org/repo.git', ref: 'main', subdir: 'sub' } })
})

test.each([
  ['https://user:tok@example.com/ctx.tar', 'https://user:xxxxx@example.com/ctx.tar'],
  ['https://tok@host/org/repo.git#main', 'https://xxxxx@host/org/repo.git#main'],
  ['-', '-'],
  ['some/dir', 'some/dir'],
])('describeContextArg(%s) masks credentials', (arg, shown) => {
  expect(describeContextArg(classifyContextArg(arg))).toBe(shown)
})
