import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { ShellLex } from './index.js'

// BuildKit's own data files, read where they live (outside the project) and
// never copied in; see ../shared/conformance/README.md next to the repo.
const DATA_DIR = fileURLToPath(new URL('../../../../../shared/conformance/buildkit-shell/', import.meta.url))
const hasData = existsSync(DATA_DIR)

interface EnvVarRow { line: number; input: string; expected: string }
interface WordsRow { line: number; input: string; env: string[]; expected: string[] }

/** envVarTest: `TAG|input|expected`, fields trimmed; tags A (all) and U (unix) apply here, W (windows) does not. */
function readEnvVarRows (): EnvVarRow[] {
  const rows: EnvVarRow[] = []
  readFileSync(DATA_DIR + 'envVarTest', 'utf8').split('\n').forEach((raw, i) => {
    if (raw.startsWith('#')) return
    const line = raw.trim()
    if (line === '') return
    const fields = line.split('|')
    if (fields.length !== 3) throw new Error(`envVarTest:${i + 1}: expected 3 fields, got ${fields.length}`)
    const [tag, input, expected] = fields.map(f => f.trim()) as [string, string, string]
    if (tag !== 'A' && tag !== 'U' && tag !== 'W') throw new Error(`envVarTest:${i + 1}: unknown tag ${tag}`)
    if (tag !== 'W') rows.push({ line: i + 1, input, expected })
  })
  return rows
}

/**
 * wordsTest: `ENV K=V` lines extend the environment for later rows (the value
 * keeps trailing spaces); other rows are `input|w1,w2,...` with the input
 * trimmed and the expectation trimmed on the left only.
 */
function readWordsRows (): WordsRow[] {
  const rows: WordsRow[] = []
  const env: string[] = []
  readFileSync(DATA_DIR + 'wordsTest', 'utf8').split('\n').forEach((line, i) => {
    if (line.startsWith('#') || line === '') return
    if (line.startsWith('ENV ')) {
      env.push(line.slice(3).trimStart())
      return
    }
    const fields = line.split('|')
    if (fields.length !== 2) throw new Error(`wordsTest:${i + 1}: expected exactly one |`)
    rows.push({ line: i + 1, input: (fields[0] as string).trim(), env: [...env], expected: (fields[1] as string).trimStart().split(',') })
  })
  return rows
}

if (!hasData) {
  test.skip(`BuildKit shell conformance data not found at ${DATA_DIR}: it is kept outside the project, so this suite only runs where it is present`, () => {})
} else {
  const lex = new ShellLex()

  describe('envVarTest (ProcessWord)', () => {
    const env = ['PWD=/home', 'SHELL=bash', 'KOREAN=한국어', 'NULL=']
    test.each(readEnvVarRows())('line $line: $input', ({ input, expected }) => {
      if (expected === 'error') {
        expect(() => lex.processWord(input, env)).toThrow(/failed to process/)
      } else {
        expect(lex.processWord(input, env)).toBe(expected)
      }
    })
  })

  describe('wordsTest (ProcessWords)', () => {
    test.each(readWordsRows())('line $line: $input', ({ input, env, expected }) => {
      if (expected.length === 1 && expected[0] === 'error') {
        expect(() => lex.processWords(input, env)).toThrow(/failed to process/)
      } else {
        expect(lex.processWords(input, env)).toEqual(expected)
      }
    })
  })
}
