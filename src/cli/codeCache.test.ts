import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { describe, expect, test } from 'vitest'
import { loadWithCodeCache } from './codeCache.js'

/** Load `file` once, as one CLI run would; returns its exports and whether it asked to write a cache at exit. */
function run (file: string): { exports: unknown, save?: () => void } {
  let save: (() => void) | undefined
  const exports = loadWithCodeCache(file, (fn) => { save = fn })
  return { exports, ...(save !== undefined ? { save } : {}) }
}

const cacheFiles = (dir: string): string[] => readdirSync(join(dir, '.v8-cache')).filter((f) => f.endsWith('.bin'))

// Each CLI run is a new process; here every load shares one isolate, whose
// own compilation cache would otherwise answer before the code cache is read.
setFlagsFromString('--no-compilation-cache')

describe('loadWithCodeCache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsb-codecache-'))
  const file = join(dir, 'mod.cjs')
  writeFileSync(file, 'const { join } = require("node:path")\nmodule.exports = { where: join(__dirname, "x"), twice: (n) => n * 2 }\n')

  test('runs a CommonJS file with require, module and __dirname, and caches its code when the run ends', () => {
    const first = run(file)
    expect(first.exports).toMatchObject({ where: join(dir, 'x') })
    expect((first.exports as { twice: (n: number) => number }).twice(21)).toBe(42)
    expect(first.save).toBeTypeOf('function')
    first.save!()
    expect(cacheFiles(dir)).toHaveLength(1)
  })

  test('the next three runs use the cache and write it again (it gathers what each compiled); then it is left alone', () => {
    for (let i = 0; i < 3; i++) {
      const again = run(file)
      expect(again.exports).toMatchObject({ where: join(dir, 'x') })
      expect(again.save).toBeTypeOf('function')
      again.save!()
    }
    expect(run(file).save).toBeUndefined()
    expect(cacheFiles(dir)).toHaveLength(1)
  })

  test('a corrupt cache is rejected: the file still loads from source and the cache is rewritten', () => {
    const [name] = cacheFiles(dir)
    writeFileSync(join(dir, '.v8-cache', name!), 'not a code cache')
    const third = run(file)
    expect(third.exports).toMatchObject({ where: join(dir, 'x') })
    expect(third.save).toBeTypeOf('function')
    third.save!()
    expect(readFileSync(join(dir, '.v8-cache', name!), 'utf8')).not.toBe('not a code cache')
  })

  test('a changed file never meets the old cache', () => {
    writeFileSync(file, 'module.exports = { version: 2 }\n')
    const changed = run(file)
    expect(changed.exports).toEqual({ version: 2 })
    expect(changed.save).toBeTypeOf('function')
    changed.save!()
    expect(cacheFiles(dir)).toHaveLength(2)
  })
})
