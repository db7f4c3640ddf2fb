import { mkdtemp, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { hasCode } from './errors.js'
import { ensureDir, ensureFileDest, writeFileSafely } from './ensureDir.js'

const fresh = async (): Promise<string> => await mkdtemp(join(tmpdir(), 'tsbuild-ensuredir-'))

describe('ensureDir', () => {
  test('creates every missing component and accepts an existing directory', async () => {
    const root = await fresh()
    await ensureDir(join(root, 'a/b/c'))
    expect((await stat(join(root, 'a/b/c'))).isDirectory()).toBe(true)
    await ensureDir(join(root, 'a/b/c'))
  })

  test.each([
    ['the path itself', 'f', /f: is a file, not a directory$/],
    ['an ancestor', 'f/sub/deeper', /f\/sub\/deeper: .*\/f is a file, not a directory$/],
  ])('a file as %s is an IO error naming it', async (_what, rel, message) => {
    const root = await fresh()
    await writeFile(join(root, 'f'), 'x')
    const err = await ensureDir(join(root, rel), { what: 'output' }).catch((e: unknown) => e)
    expect(hasCode(err, 'IO')).toBe(true)
    expect((err as Error).message).toMatch(message)
    expect((err as Error).message.startsWith('output ')).toBe(true)
  })

  test('a filesystem that refuses new entries ends in an error, not a loop', async () => {
    const err = await ensureDir('/proc/tsbuild-nope/x').catch((e: unknown) => e)
    expect((err as Error).message).toBe('/proc/tsbuild-nope/x: cannot create /proc/tsbuild-nope: /proc does not accept new directories')
  }, 5000)
})

describe('ensureFileDest / writeFileSafely', () => {
  test('refuses a directory as a file path', async () => {
    const root = await fresh()
    await expect(ensureFileDest(root)).rejects.toThrow(/is a directory, expected a file path/)
  })

  test('writes under new parent directories, and names a file in the way', async () => {
    const root = await fresh()
    await writeFileSafely(join(root, 'x/y/m.json'), '{}')
    expect((await stat(join(root, 'x/y/m.json'))).size).toBe(2)
    await expect(writeFileSafely(join(root, 'x/y/m.json/z'), '{}', { what: '--metadata-file' }))
      .rejects.toThrow(`--metadata-file ${join(root, 'x/y/m.json/z')}: ${join(root, 'x/y/m.json')} is a file, not a directory`)
  })
})
