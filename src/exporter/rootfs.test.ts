import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, readdir, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { LocalContentStore } from '../cache/content/index.js'
import { MediaType } from '../common/oci.js'
import type { Descriptor } from '../common/oci.js'
import { layerTarStream } from './layerTar.js'
import { END_OF_ARCHIVE, encodeTarHeader, tarPadding } from './tarHeader.js'
import { applyLayer } from './rootfs.js'

async function storeLayer (store: LocalContentStore, dir: string): Promise<Descriptor> {
  const info = await store.write(layerTarStream(dir))
  return { mediaType: MediaType.ociLayer, ...info }
}

const tmp = (p: string): Promise<string> => mkdtemp(join(tmpdir(), p))

// Whiteouts are made as overlay does (char 0/0 devices, trusted.* xattrs), which needs root.
describe.runIf(process.getuid?.() === 0)('applyLayer', () => {
  test('whiteouts delete, opaque dirs hide lower content but keep this layer\'s', async () => {
    const store = new LocalContentStore(await tmp('tsbuild-rootfs-store-'))
    const lower = await tmp('tsbuild-lower-')
    await mkdir(join(lower, 'etc/sub'), { recursive: true })
    await writeFile(join(lower, 'etc/old'), 'old')
    await writeFile(join(lower, 'etc/sub/deep'), 'deep')
    await writeFile(join(lower, 'gone'), 'x')
    const upper = await tmp('tsbuild-upper-')
    await mkdir(join(upper, 'etc/sub'), { recursive: true })
    await writeFile(join(upper, 'etc/-new'), 'new') // sorts before the opaque marker
    await writeFile(join(upper, 'etc/sub/fresh'), 'fresh')
    execFileSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', join(upper, 'etc')])
    execFileSync('mknod', [join(upper, 'gone'), 'c', '0', '0'])

    const root = await tmp('tsbuild-rootfs-')
    await applyLayer(store, await storeLayer(store, lower), root)
    await applyLayer(store, await storeLayer(store, upper), root)
    expect(existsSync(join(root, 'gone'))).toBe(false)
    expect((await readdir(join(root, 'etc'))).sort()).toEqual(['-new', 'sub'])
    expect(await readdir(join(root, 'etc/sub'))).toEqual(['fresh'])
  })

  test('a device node from an image is created for its owner only, whatever mode the layer gives it', async () => {
    const store = new LocalContentStore(await tmp('tsbuild-rootfs-store-'))
    // /dev/null's numbers, mode 0666 in the layer.
    const tar = Buffer.concat([encodeTarHeader({ name: 'devnull', type: 'char', devmajor: 1, devminor: 3, mode: 0o666, uid: 0, gid: 0, size: 0, mtime: 0 }), END_OF_ARCHIVE])
    const info = await store.writeBytes(tar)
    const root = await tmp('tsbuild-rootfs-')
    await applyLayer(store, { mediaType: MediaType.ociLayer, ...info }, root)
    const st = await stat(join(root, 'devnull'))
    expect(st.isCharacterDevice()).toBe(true)
    expect(st.mode & 0o777).toBe(0o600)
  })

  test('a symlink in a layer cannot lead writes out of the root', async () => {
    const store = new LocalContentStore(await tmp('tsbuild-rootfs-store-'))
    const outside = await tmp('tsbuild-outside-')
    // A hand-made hostile layer: a link to a host directory, then a file through it.
    const tar = Buffer.concat([
      encodeTarHeader({ name: 'escape', type: 'symlink', linkname: outside, mode: 0o777, uid: 0, gid: 0, size: 0, mtime: 0 }),
      encodeTarHeader({ name: 'escape/pwned', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 1, mtime: 0 }),
      Buffer.from('x'), tarPadding(1), END_OF_ARCHIVE,
    ])
    const info = await store.writeBytes(tar)
    const root = await tmp('tsbuild-rootfs-')
    await applyLayer(store, { mediaType: MediaType.ociLayer, ...info }, root)
    expect(existsSync(join(outside, 'pwned'))).toBe(false)
    expect(await readFile(join(root, outside, 'pwned'), 'utf8')).toBe('x')
  })
})
