import { createWriteStream } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import tar from 'tar-stream'
import { describe, expect, test } from 'vitest'
import { unpackArchive } from './unpack.js'

/** A tar whose only entry is a hard link to a file it never holds. */
async function danglingHardLinkTar (dir: string): Promise<string> {
  const pack = tar.pack()
  pack.entry({ name: 'dir/', type: 'directory' })
  pack.entry({ name: 'dir/alias', type: 'link', linkname: 'dir/missing' })
  pack.finalize()
  const file = join(dir, 'bad.tar')
  await pipeline(pack, createWriteStream(file))
  return file
}

describe('unpackArchive', () => {
  test('a hard link to an entry the archive lacks is an error naming the entries, not host paths', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsbuild-unpack-'))
    const archive = await danglingHardLinkTar(dir)
    const root = await mkdtemp(join(tmpdir(), 'tsbuild-unpack-root-'))
    const err = await unpackArchive(archive, root, '/', undefined).then(() => undefined, (e: Error) => e)
    expect(err).toMatchObject({ code: 'IO' })
    expect(err!.message).toBe('cannot extract bad.tar: "dir/alias" is a hard link to "dir/missing", which the archive does not hold before it')
    expect(err!.message).not.toContain(root)
  })
})
