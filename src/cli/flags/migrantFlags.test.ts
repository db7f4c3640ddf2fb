// Command lines typed by people coming from buildx, kaniko and buildah: what
// buildx takes is taken the same way; what the other tools take is refused
// with the buildx spelling that does the same.
import { describe, expect, test } from 'vitest'
import { TsbuildError } from '../../common/errors.js'
import { parseBuildArgs } from './buildFlags.js'

const cwd = '/work/app'
const parse = (env: NodeJS.ProcessEnv, ...argv: string[]) => parseBuildArgs(argv, cwd, env)

function usageError (argv: string[]): TsbuildError {
  try { parse({}, ...argv) } catch (e) { expect(e).toBeInstanceOf(TsbuildError); return e as TsbuildError }
  throw new Error(`expected ${argv.join(' ')} to fail`)
}

describe('--secret as buildx and BuildKit read it', () => {
  test('a bare id is the environment variable of that name when it is set', () => {
    expect(parse({ tok: 'v' }, '--secret', 'id=tok', '.').secrets).toEqual([{ id: 'tok', kind: 'env', env: 'tok' }])
  })

  test('a bare id whose variable is unset is the file of that name, relative to the working directory', () => {
    expect(parse({}, '--secret', 'id=tok', '.').secrets).toEqual([{ id: 'tok', kind: 'file', src: '/work/app/tok' }])
    expect(parse({ OTHER: 'x' }, '--secret', 'id=ci/tok', '.').secrets).toEqual([{ id: 'ci/tok', kind: 'file', src: '/work/app/ci/tok' }])
  })

  test('an empty variable is still set, so it is the value', () => {
    expect(parse({ tok: '' }, '--secret', 'id=tok', '.').secrets).toEqual([{ id: 'tok', kind: 'env', env: 'tok' }])
  })

  test('type=env, env=, src= and keys in any case', () => {
    expect(parse({}, '--secret', 'id=tok,type=env', '.').secrets).toEqual([{ id: 'tok', kind: 'env', env: 'tok' }])
    expect(parse({}, '--secret', 'type=env,src=TOKEN', '.').secrets).toEqual([{ id: 'TOKEN', kind: 'env', env: 'TOKEN' }])
    expect(parse({}, '--secret', 'ID=npm,SRC=.npmrc', '.').secrets).toEqual([{ id: 'npm', kind: 'file', src: '/work/app/.npmrc' }])
    expect(parse({}, '--secret', 'src=./conf/.npmrc', '.').secrets).toEqual([{ id: '.npmrc', kind: 'file', src: '/work/app/conf/.npmrc' }])
  })
})

describe('--label as buildx reads it', () => {
  test('a bare KEY is a label with an empty value (only --build-arg looks in the environment)', () => {
    expect([...parse({ maintainer: 'from-env' }, '--label', 'maintainer', '--label', 'a=b=c', '.').labels]).toEqual([['maintainer', ''], ['a', 'b=c']])
  })

  test('an empty key is still refused', () => {
    expect(usageError(['--label', '=v', '.']).message).toMatch(/invalid --label "=v"/)
  })
})
