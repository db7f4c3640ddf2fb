import { chmod, mkdir, mkdtemp, symlink, utimes, writeFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { checksumSelection, SourceChecksumMemo, type SourceSelection } from './sourceChecksum.js'

async function tree (): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'sum-'))
  await mkdir(join(root, 'app/sub'), { recursive: true })
  await writeFile(join(root, 'app/bin'), 'binary')
  await writeFile(join(root, 'app/sub/data'), 'data')
  await writeFile(join(root, 'app/skip.log'), 'log')
  await symlink('bin', join(root, 'app/link'))
  await writeFile(join(root, 'lib.so.1'), 'lib')
  await symlink('lib.so.1', join(root, 'lib.so'))
  return root
}

const SEL = (src: string, extra: Partial<SourceSelection> = {}): SourceSelection => ({
  src, followSymlinks: true, allowWildcard: true, allowEmptyWildcard: false, ...extra,
})

describe('checksum of what a COPY reads', () => {
  test.each<[string, SourceSelection, (root: string) => Promise<void>, boolean]>([
    ['times do not count', SEL('/app'), async (r) => { await utimes(join(r, 'app/bin'), 1, 1) }, true],
    ['files outside the selection do not count', SEL('/app'), async (r) => { await writeFile(join(r, 'other'), 'x') }, true],
    ['excluded files do not count', SEL('/app', { exclude: (p) => p.endsWith('.log') }), async (r) => { await writeFile(join(r, 'app/skip.log'), 'changed') }, true],
    ['content counts', SEL('/app'), async (r) => { await writeFile(join(r, 'app/sub/data'), 'DATA') }, false],
    ['mode counts', SEL('/app'), async (r) => { await chmod(join(r, 'app/bin'), 0o755) }, false],
    ['a symlink target inside a directory counts', SEL('/app'), async (r) => { await rm(join(r, 'app/link')); await symlink('sub', join(r, 'app/link')) }, false],
    ['a new file counts', SEL('/app'), async (r) => { await writeFile(join(r, 'app/new'), '') }, false],
    ['a followed source link: only the content it reaches counts', SEL('/lib.so'), async (r) => {
      await writeFile(join(r, 'lib.so.2'), 'lib'); await rm(join(r, 'lib.so')); await symlink('lib.so.2', join(r, 'lib.so'))
    }, true],
    ['a wildcard match renamed counts', SEL('/lib*'), async (r) => { await rm(join(r, 'lib.so')); await symlink('lib.so.1', join(r, 'lib.so.0')) }, false],
  ])('%s', async (_name, sel, change, same) => {
    const root = await tree()
    const before = await checksumSelection(root, sel)
    await change(root)
    const after = await checksumSelection(root, sel)
    expect(after === before).toBe(same)
  })

  test('two trees with the same files give the same digest', async () => {
    expect(await checksumSelection(await tree(), SEL('/app'))).toBe(await checksumSelection(await tree(), SEL('/app')))
  })

  test('a missing source is NOT_FOUND unless an empty wildcard is allowed', async () => {
    const root = await tree()
    await expect(checksumSelection(root, SEL('/nothere', { allowWildcard: false }))).rejects.toThrow(/not found/)
    await expect(checksumSelection(root, SEL('/none*'))).rejects.toThrow(/no source files/)
    expect(await checksumSelection(root, SEL('/none*', { allowEmptyWildcard: true }))).toMatch(/^sha256:/)
  })
})

describe('SourceChecksumMemo', () => {
  test('remembers a digest per snapshot names and selection', async () => {
    const memo = new SourceChecksumMemo(await mkdtemp(join(tmpdir(), 'memo-')))
    const a = SourceChecksumMemo.keyOf(['layer-1'], { src: '/app' })
    const b = SourceChecksumMemo.keyOf(['layer-2'], { src: '/app' })
    const digest = `sha256:${'a'.repeat(64)}` as const
    expect(await memo.get(a)).toBeUndefined()
    await memo.put(a, digest as never)
    expect(await memo.get(a)).toBe(digest)
    expect(await memo.get(b)).toBeUndefined()
    expect(SourceChecksumMemo.keyOf(['layer-1'], { src: '/other' })).not.toBe(a)
  })
})
