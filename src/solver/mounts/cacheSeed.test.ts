import { execFile } from 'node:child_process'
import { chmod, chown, mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, test } from 'vitest'
import { inputDirAttributes } from './cacheSeed.js'

const run = promisify(execFile)

/** `count` fresh, empty layer dirs, bottom first. */
async function layers (count: number): Promise<string[]> {
  const base = await mkdtemp(join(tmpdir(), 'tsbuild-cacheseed-'))
  const out: string[] = []
  for (let i = 0; i < count; i++) {
    const dir = join(base, String(i))
    await mkdir(dir)
    out.push(dir)
  }
  return out
}

async function dir (path: string, mode: number, uid: number, gid: number): Promise<void> {
  await mkdir(path, { recursive: true })
  await chmod(path, mode)
  await chown(path, uid, gid)
}

describe('inputDirAttributes', () => {
  test('reads owner and mode of the selected directory (the frontend\'s permissions mkdir)', async () => {
    const [l] = await layers(1)
    await dir(join(l!, 'cache'), 0o700, 65534, 65533)
    expect(await inputDirAttributes([l!], '/cache')).toEqual({ uid: 65534, gid: 65533, mode: 0o700 })
  })

  test('the topmost layer holding the path wins; absent in upper layers falls through', async () => {
    const [low, mid, top] = await layers(3)
    await dir(join(low!, 'a', 'b'), 0o750, 1, 2)
    await dir(join(mid!, 'a', 'b'), 0o711, 3, 4)
    await writeFile(join(top!, 'unrelated'), '')
    await mkdir(join(top!, 'a'))
    expect(await inputDirAttributes([low!, mid!, top!], 'a/b')).toEqual({ uid: 3, gid: 4, mode: 0o711 })
  })

  test.each([
    ['a whiteout of the path', '/a/b', async (top: string) => {
      await mkdir(join(top, 'a'))
      await run('mknod', [join(top, 'a', 'b'), 'c', '0', '0'])
    }],
    ['a whiteout of an ancestor', '/a/b', async (top: string) => { await run('mknod', [join(top, 'a'), 'c', '0', '0']) }],
    ['a file replacing an ancestor', '/a/b', async (top: string) => { await writeFile(join(top, 'a'), '') }],
    ['an opaque ancestor directory', '/a/b', async (top: string) => {
      await mkdir(join(top, 'a'))
      await run('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', join(top, 'a')])
    }],
  ])('%s in an upper layer hides the lower directory', async (_name, selector, hide) => {
    const [low, top] = await layers(2)
    await dir(join(low!, 'a', 'b'), 0o700, 5, 5)
    expect(await inputDirAttributes([low!, top!], selector)).toEqual({ uid: 5, gid: 5, mode: 0o700 })
    await hide(top!)
    expect(await inputDirAttributes([low!, top!], selector)).toBeUndefined()
  })

  test('a missing path or a file at the path gives undefined', async () => {
    const [l] = await layers(1)
    await writeFile(join(l!, 'file'), '')
    expect(await inputDirAttributes([l!], '/nothere')).toBeUndefined()
    expect(await inputDirAttributes([l!], '/file')).toBeUndefined()
    expect(await inputDirAttributes([], '/cache')).toBeUndefined()
  })
})
