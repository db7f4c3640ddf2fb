/**
 * BuildKit's own parser test data, read in place from the shared
 * conformance folder: positive cases must dump exactly as `result`,
 * negative cases must throw, and testfile-line checks line numbers.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { DockerfileError } from '../../../common/errors.js'
import { dumpAst, parse } from './index.js'

// The shared data sits beside the repository (../shared/conformance), never inside it.
const root = process.env.TSBUILD_PARSER_CONFORMANCE ?? fileURLToPath(new URL('../../../../../shared/conformance/buildkit-parser/', import.meta.url))
const hasData = existsSync(join(root, 'testfiles'))
const cases = (sub: string): string[] => hasData ? readdirSync(join(root, sub)).sort() : []
const read = (...p: string[]): string => readFileSync(join(root, ...p), 'utf8')

describe.skipIf(!hasData)(`BuildKit parser conformance (data in ${root}; skipped when that folder is missing)`, () => {
  test.each(cases('testfiles'))('positive: %s', (name) => {
    const result = parse(read('testfiles', name, 'Dockerfile'), { file: `${name}/Dockerfile` })
    expect(dumpAst(result.nodes)).toBe(read('testfiles', name, 'result'))
  })

  test.each(cases('testfiles-negative'))('negative: %s', (name) => {
    expect(() => parse(read('testfiles-negative', name, 'Dockerfile'))).toThrow(DockerfileError)
  })

  test('testfile-line: line numbers of each instruction', () => {
    const result = parse(read('testfile-line', 'Dockerfile'))
    expect(result.range.start.line).toBe(5)
    expect(result.range.end.line).toBe(31)
    expect(result.nodes.map(n => [n.range.start.line, n.range.end.line])).toEqual([[5, 5], [11, 12], [17, 31]])
  })
})
