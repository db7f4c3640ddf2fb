import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, test } from 'vitest'
import { cleanInRoot, resolveInRoot, resolveInRootSync } from './pathInRoot.js'

let root: string
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'root-'))
  await mkdir(join(root, 'etc'))
  await mkdir(join(root, 'usr/lib'), { recursive: true })
  await writeFile(join(root, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\n')
  await symlink('/', join(root, 'evil'))
  await symlink('../../../../etc', join(root, 'up'))
  await symlink('/usr/lib', join(root, 'lib'))
  await symlink('lib', join(root, 'lib2'))
  await symlink('loop2', join(root, 'loop1'))
  await symlink('loop1', join(root, 'loop2'))
})

describe('resolveInRoot', () => {
  test.each([
    ['/etc/passwd', 'etc/passwd'],
    ['../../etc/passwd', 'etc/passwd'],
    ['/evil/etc/passwd', 'etc/passwd'],
    ['/evil/../../../etc', 'etc'],
    ['/up/passwd', 'etc/passwd'],
    ['/lib2/x.so', 'usr/lib/x.so'],
    ['/missing/../etc', 'etc'],
    ['/', ''],
  ])('%s stays inside the root', async (p, want) => {
    expect(await resolveInRoot(root, p)).toBe(want === '' ? root : join(root, want))
    expect(resolveInRootSync(root, p)).toBe(want === '' ? root : join(root, want))
  })

  test('the final link is kept when not following', async () => {
    expect(await resolveInRoot(root, '/evil', { followFinal: false })).toBe(join(root, 'evil'))
    expect(await resolveInRoot(root, '/evil')).toBe(root)
  })

  test('symlink loops are an error, not a hang', async () => {
    await expect(resolveInRoot(root, '/loop1/x')).rejects.toThrow(/too many levels/)
  })

  test('cleanInRoot', () => {
    expect(cleanInRoot('../../a/./b/../c/')).toBe('/a/c')
    expect(cleanInRoot('')).toBe('/')
  })
})
