import { describe, expect, test } from 'vitest'
import { ExpansionError, ShellLex, applyKeyValues, envFromList, expandKeyValueWords, toEnvGetter } from './index.js'

describe('expandKeyValueWords', () => {
  const env = new Map([['a', 'old'], ['HOME', '/root']])

  test('every value sees the environment from before the instruction (ENV, LABEL)', () => {
    const res = expandKeyValueWords(['a=new', 'b=$a', 'c="${a} and ${b:-none}"'], env)
    expect(res.pairs).toEqual([
      { key: 'a', value: 'new' },
      { key: 'b', value: 'old' },
      { key: 'c', value: 'old and none' },
    ])
    expect([...res.matched]).toEqual(['a'])
    expect([...res.unmatched]).toEqual(['b'])
  })

  test('sequential mode lets later pairs see earlier ones (BuildKit ARG)', () => {
    const res = expandKeyValueWords(['a=new', 'b=$a', 'c'], env, { sequential: true, expandKeys: false })
    expect(res.pairs).toEqual([{ key: 'a', value: 'new' }, { key: 'b', value: 'new' }, { key: 'c', value: undefined }])
    expect(res.unmatched.size).toBe(0)
  })

  test('keys are expanded unless told otherwise', () => {
    expect(expandKeyValueWords(['${HOME}_dir=1'], env).pairs).toEqual([{ key: '/root_dir', value: '1' }])
    expect(expandKeyValueWords(['$HOME=1'], env, { expandKeys: false }).pairs).toEqual([{ key: '$HOME', value: '1' }])
  })

  test('splits at the first = and keeps the rest of the value', () => {
    expect(expandKeyValueWords(['opts=a=b=c', 'empty='], env).pairs).toEqual([{ key: 'opts', value: 'a=b=c' }, { key: 'empty', value: '' }])
  })

  test('uses the given lexer, e.g. a backtick escape token', () => {
    const lex = new ShellLex({ escapeToken: '`' })
    expect(expandKeyValueWords(['p=C:\\dir`$HOME'], env, { lex }).pairs).toEqual([{ key: 'p', value: 'C:\\dir$HOME' }])
  })

  test('an error keeps the lookups of the whole instruction so far', () => {
    let caught: unknown
    try {
      expandKeyValueWords(['x=$a$missing', 'y=${req:?must be set}'], env)
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(ExpansionError)
    const err = caught as ExpansionError
    expect(err.message).toBe('failed to process "${req:?must be set}": req: must be set')
    expect(err.variable).toBe('req')
    expect([...err.matched]).toEqual(['a'])
    expect([...err.unmatched].sort()).toEqual(['missing', 'req'])
  })

  test('a key that expands to nothing is rejected', () => {
    expect(() => expandKeyValueWords(['$nothing=1'], env)).toThrow(/name is empty/)
  })
})

describe('applyKeyValues', () => {
  test('redefined keys keep their place, new ones go last, the input is untouched', () => {
    const env = new Map([['a', '1'], ['b', '2']])
    const next = applyKeyValues(env, [{ key: 'c', value: '3' }, { key: 'a', value: 'x' }, { key: 'd', value: undefined }])
    expect([...next]).toEqual([['a', 'x'], ['b', '2'], ['c', '3']])
    expect([...env]).toEqual([['a', '1'], ['b', '2']])
  })
})

describe('environments', () => {
  test.each([
    [['A=1', 'B=2', 'A=3'], 'A', '3'],
    [['A=1', 'AB=2'], 'AB', '2'],
    [['AB=2'], 'A', undefined],
    [['FLAG'], 'FLAG', ''],
    [['X=a=b'], 'X', 'a=b'],
    [[], 'X', undefined],
  ])('%j: %s', (list, name, value) => {
    expect(toEnvGetter(list).get(name)).toBe(value)
    expect(envFromList(list).get(name)).toBe(value)
  })
})
