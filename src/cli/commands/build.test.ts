import { describe, expect, test } from 'vitest'
import { hasCode } from '../../common/errors.js'
import { splitCallFormat } from './build.js'

describe('splitCallFormat: --call=NAME,format=json|text', () => {
  test.each<[string[], string[], 'text' | 'json']>([
    [['--call=outline,format=json', '.'], ['--call=outline', '.'], 'json'],
    [['--call', 'targets,format=json', '.'], ['--call', 'targets', '.'], 'json'],
    [['--call=format=json,targets', '.'], ['--call=targets', '.'], 'json'],
    [['--call=outline,format=text', '.'], ['--call=outline', '.'], 'text'],
    [['--call=outline', '.'], ['--call=outline', '.'], 'text'],
    // Calls without a JSON form keep the whole value, so the flag parser rejects it by name.
    [['--call=check,format=json', '.'], ['--call=check,format=json', '.'], 'text'],
    [['-t', 'app', '.'], ['-t', 'app', '.'], 'text'],
  ])('%j', (argv, args, format) => {
    expect(splitCallFormat(argv)).toEqual({ args, format })
  })

  test('an unknown format is a usage error', () => {
    let err: unknown
    try { splitCallFormat(['--call=outline,format=yaml', '.']) } catch (e) { err = e }
    expect(hasCode(err, 'USAGE')).toBe(true)
    expect(String(err)).toMatch(/invalid format "yaml"/)
  })
})
