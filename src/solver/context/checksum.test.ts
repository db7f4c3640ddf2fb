import { utimesSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { hasCode } from '../../common/errors.js'
import { checksum } from './checksum.js'
import { scanContext } from './scanContext.js'
import { makeTree, type TreeSpec } from './testContext.js'

const base: TreeSpec = {
  'a.txt': 'A',
  'b.txt': 'B',
  'c.md': 'C',
  'dir/x': 'X',
  'dir/sub/y': 'Y',
  'dir/sub/z.log': 'Z',
  'etc/passwd': 'inside-root',
  'abs': { symlink: '/etc' },
  'up': { symlink: '../..' },
  'rel': { symlink: 'dir/sub' },
  'loop': { symlink: 'loop' },
}

async function sumOf (spec: TreeSpec, selector: string, opts: Parameters<typeof checksum>[2] = {}): Promise<string> {
  return checksum(makeTree(spec), selector, opts)
}

describe('checksum', () => {
  test('times never count', async () => {
    const root = makeTree(base)
    const before = await checksum(root, '/')
    utimesSync(path.join(root, 'dir/sub/y'), 1, 1)
    utimesSync(path.join(root, 'dir'), 2, 2)
    expect(await checksum(root, '/')).toBe(before)
  })

  test('a directory covers its whole subtree', async () => {
    const root = makeTree(base)
    const before = await checksum(root, 'dir')
    const other = await checksum(root, 'a.txt')
    writeFileSync(path.join(root, 'dir/sub/y'), 'changed')
    expect(await checksum(root, 'dir')).not.toBe(before)
    expect(await checksum(root, 'a.txt')).toBe(other)
  })

  test.each<[string, string, string]>([
    ['equal content at different paths', 'a.txt', 'dir/x'],
    ['a directory and the same directory spelled with dots', 'dir', './dir/../dir/'],
    ['.. is clamped at the root', '../../a.txt', 'a.txt'],
    ['an absolute symlink resolves inside the root', 'abs/passwd', 'etc/passwd'],
    ['a symlink climbing out stops at the root', 'up/a.txt', 'a.txt'],
    ['a relative symlink in a directory position', 'rel/y', 'dir/sub/y'],
    ['the final symlink is followed by default', 'rel', 'dir/sub'],
  ])('%s: %s ≡ %s', async (_name, s1, s2) => {
    const spec = { ...base, 'dir/x': 'A' }
    const root = makeTree(spec)
    expect(await checksum(root, s1)).toBe(await checksum(root, s2))
  })

  test('without followSymlinks the link itself is hashed', async () => {
    const root = makeTree(base)
    const asLink = await checksum(root, 'rel', { followSymlinks: false })
    expect(asLink).not.toBe(await checksum(root, 'dir/sub'))
    expect(await checksum(makeTree({ ...base, rel: { symlink: 'dir' } }), 'rel', { followSymlinks: false })).not.toBe(asLink)
  })

  test.each<[string, TreeSpec]>([
    ['content', { 'dir/x': 'X2' }],
    ['mode', { 'dir/x': { content: 'X', mode: 0o700 } }],
    ['symlink target', { 'dir/l': { symlink: 'b' } }],
    ['a new empty directory', { 'dir/empty/': null }],
    ['a renamed file', { 'dir/x': undefined as unknown as string, 'dir/x2': 'X' }],
  ])('a change of %s changes the directory checksum', async (_what, change) => {
    const before = { ...base, 'dir/l': { symlink: 'a' } }
    const after: TreeSpec = { ...before, ...change }
    for (const [k, v] of Object.entries(after)) if (v === undefined) delete after[k]
    expect(await sumOf(after, 'dir')).not.toBe(await sumOf(before, 'dir'))
  })

  test('wildcards hash every match with its path', async () => {
    const root = makeTree(base)
    const txt = await checksum(root, '*.txt')
    expect(txt).not.toBe(await checksum(root, 'a.txt'))
    expect(await checksum(root, '?.txt')).toBe(txt)
    expect(await checksum(root, '[ab].txt')).toBe(txt)
    expect(await checksum(root, 'dir/*/y')).toBe(await checksum(root, 'di?/sub/y'))
    writeFileSync(path.join(root, 'b.txt'), 'B2')
    expect(await checksum(root, '*.txt')).not.toBe(txt)
    expect(await checksum(root, '*.md')).toBe(await checksum(makeTree({ ...base, 'c.md': 'C' }), '*.md'))
  })

  test.each(['missing', '*.none', 'a.txt/x', 'abs/shadow'])('%s is NOT_FOUND', async (selector) => {
    await expect(checksum(makeTree(base), selector)).rejects.toSatisfy((e: unknown) => hasCode(e, 'NOT_FOUND'))
  })

  test('an empty wildcard may be allowed', async () => {
    expect(await checksum(makeTree(base), '*.none', { allowEmptyWildcard: true })).toMatch(/^sha256:/)
  })

  test('a symlink loop is an error, not a hang', async () => {
    await expect(checksum(makeTree(base), 'loop/x')).rejects.toThrow(/symbolic links/)
  })

  test('exclude and include patterns apply relative to the selected directory', async () => {
    const root = makeTree(base)
    const noLogs = await checksum(root, 'dir', { excludePatterns: ['**/*.log'] })
    expect(noLogs).not.toBe(await checksum(root, 'dir'))
    writeFileSync(path.join(root, 'dir/sub/z.log'), 'ignored change')
    expect(await checksum(root, 'dir', { excludePatterns: ['**/*.log'] })).toBe(noLogs)
    expect(await checksum(root, 'dir', { excludePatterns: ['sub', '!sub/y'] }))
      .toBe(await checksum(root, 'dir', { includePatterns: ['x', 'sub/y'] }))
  })

  test('a context scanned with .dockerignore patterns cannot see excluded files', async () => {
    const snap = await scanContext(makeTree(base), { excludePatterns: ['dir/sub'] })
    await expect(checksum(snap, 'dir/sub/y')).rejects.toSatisfy((e: unknown) => hasCode(e, 'NOT_FOUND'))
    await expect(checksum(snap, 'rel/y')).rejects.toSatisfy((e: unknown) => hasCode(e, 'NOT_FOUND'))
    expect(await checksum(snap, 'dir')).toMatch(/^sha256:/)
  })
})
