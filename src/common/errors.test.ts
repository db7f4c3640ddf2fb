import { describe, expect, test } from 'vitest'
import { DockerfileError, TsbuildError, findTsbuildError, hasCode } from './errors.js'

describe('errors', () => {
  test('hasCode and findTsbuildError walk the cause chain', () => {
    const inner = new TsbuildError('NOT_FOUND', 'x not found')
    const outer = new Error('wrapped', { cause: inner })
    expect(hasCode(outer, 'NOT_FOUND')).toBe(true)
    expect(hasCode(outer, 'IO')).toBe(false)
    expect(findTsbuildError(outer)).toBe(inner)
  })

  test('an error made by another copy of this module (a separately bundled command) is still recognised', () => {
    // What another copy produces: its own class, the same global brand.
    class OtherTsbuildError extends Error { code = 'NOT_FOUND' }
    const foreign = new OtherTsbuildError('from another bundle')
    Object.defineProperty(foreign, Symbol.for('tsbuild.TsbuildError'), { value: true })
    expect(foreign instanceof TsbuildError).toBe(true)
    expect(foreign instanceof DockerfileError).toBe(false)
    Object.defineProperty(foreign, Symbol.for('tsbuild.DockerfileError'), { value: true })
    expect(foreign instanceof DockerfileError).toBe(true)
    expect(findTsbuildError(new Error('w', { cause: foreign }))).toBe(foreign)
  })

  test('subclasses keep ordinary instanceof', () => {
    class OtherError extends TsbuildError {}
    const plain = new TsbuildError('IO', 'x')
    expect(plain instanceof OtherError).toBe(false)
    expect(new OtherError('IO', 'y') instanceof TsbuildError).toBe(true)
    expect(new DockerfileError('DOCKERFILE_SYNTAX', 'z', { file: 'Dockerfile', ranges: [] }) instanceof TsbuildError).toBe(true)
    expect(plain instanceof DockerfileError).toBe(false)
  })
})
