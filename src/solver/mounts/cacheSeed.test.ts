import { chmod, chown, link, lstat, mkdir, mkdtemp, readFile, readlink, stat, symlink, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { cacheBaseKey, copyCacheBase, describeCacheBase } from './cacheSeed.js'

const fresh = async (): Promise<string> => await mkdtemp(join(tmpdir(), 'tsbuild-cacheseed-'))
const isRoot = process.getuid?.() === 0

async function dir (path: string, mode: number, uid: number, gid: number): Promise<void> {
  await mkdir(path, { recursive: true })
  await chmod(path, mode)
  if (isRoot) await chown(path, uid, gid)
}

describe('describeCacheBase', () => {
  test('an empty directory (the frontend\'s permissions mkdir) gives owner and mode, nothing to copy', async () => {
    const root = await fresh()
    await dir(join(root, 'cache'), 0o700, 65534, 65533)
    const base = await describeCacheBase(root, '/cache')
    expect(base).toMatchObject({ path: join(root, 'cache'), mode: 0o700, hasContent: false })
    if (isRoot) expect(base).toMatchObject({ uid: 65534, gid: 65533 })
  })

  test('a directory with files has content', async () => {
    const root = await fresh()
    await mkdir(join(root, 'seed'))
    await writeFile(join(root, 'seed', 'f'), 'seeded\n')
    expect(await describeCacheBase(root, 'seed')).toMatchObject({ hasContent: true })
    expect(await describeCacheBase(root, '/')).toMatchObject({ path: root, hasContent: true })
  })

  test('symlinks on the way resolve inside the root, never on the host', async () => {
    const root = await fresh()
    await mkdir(join(root, 'real', 'seed'), { recursive: true })
    await writeFile(join(root, 'real', 'seed', 'f'), '')
    await symlink('/real', join(root, 'abs'))
    await symlink('/', join(root, 'escape'))
    expect((await describeCacheBase(root, '/abs/seed'))?.path).toBe(join(root, 'real', 'seed'))
    // `/escape/tmp` is the root's /tmp (absent), not the host's.
    expect(await describeCacheBase(root, '/escape/tmp')).toBeUndefined()
  })

  test('a missing path or a file at the path gives undefined', async () => {
    const root = await fresh()
    await writeFile(join(root, 'file'), '')
    expect(await describeCacheBase(root, '/nothere')).toBeUndefined()
    expect(await describeCacheBase(root, '/file')).toBeUndefined()
    expect(await describeCacheBase(root, '/file/below')).toBeUndefined()
  })
})

describe('copyCacheBase', () => {
  test('copies the tree keeping owners, modes, times, symlinks and hard links', async () => {
    const src = await fresh()
    const dest = await fresh()
    await dir(join(src, 'sub'), 0o750, 1000, 1001)
    await writeFile(join(src, 'sub', 'a'), 'A')
    await chmod(join(src, 'sub', 'a'), 0o640)
    if (isRoot) await chown(join(src, 'sub', 'a'), 1002, 1003)
    const old = new Date('2001-02-03T04:05:06Z')
    await utimes(join(src, 'sub', 'a'), old, old)
    await link(join(src, 'sub', 'a'), join(src, 'hard'))
    await symlink('/sub/a', join(src, 'abs-link'))
    await symlink('missing', join(src, 'dangling'))

    await copyCacheBase(src, dest)

    expect(await readFile(join(dest, 'sub', 'a'), 'utf8')).toBe('A')
    const sub = await stat(join(dest, 'sub'))
    const a = await stat(join(dest, 'sub', 'a'))
    expect(sub.mode & 0o7777).toBe(0o750)
    expect(a.mode & 0o7777).toBe(0o640)
    expect(a.mtime.getTime()).toBe(old.getTime())
    if (isRoot) expect([sub.uid, sub.gid, a.uid, a.gid]).toEqual([1000, 1001, 1002, 1003])
    expect((await stat(join(dest, 'hard'))).ino).toBe(a.ino)
    // Links are copied as links, not followed (an absolute target points into the container, not the host).
    expect(await readlink(join(dest, 'abs-link'))).toBe('/sub/a')
    expect((await lstat(join(dest, 'dangling'))).isSymbolicLink()).toBe(true)
  })
})

describe('cacheBaseKey', () => {
  test('is stable for the same layers and selector and differs when either changes', () => {
    const k = cacheBaseKey(['l1', 'l2'], '/seed')
    expect(cacheBaseKey(['l1', 'l2'], '/seed')).toBe(k)
    expect(k).toMatch(/^[0-9a-f]{16}$/)
    expect(new Set([k, cacheBaseKey(['l1', 'l3'], '/seed'), cacheBaseKey(['l1', 'l2'], '/other'), cacheBaseKey(['l2', 'l1'], '/seed')]).size).toBe(4)
  })
})
