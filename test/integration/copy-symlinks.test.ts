// COPY of a symlink through the tsbuild CLI: a symlink named as the source
// (plainly, through a wildcard, or from another stage) is followed but the
// copy keeps the source's own name; symlinks inside a copied directory stay
// symlinks.
import { lstat, readFile, readlink } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, inject, test } from 'vitest'
import { buildOk, ensureBuilt, freshDir, writeContext } from '../helpers/tsbuild.js'

let busybox: string
let out: string

beforeAll(async () => {
  busybox = inject('busybox')
  await ensureBuilt()
  const ctx = await writeContext(await freshDir('tsb-ctx-'), {
    'dir/one.txt': 'one\n',
    'dir/link': { symlink: 'one.txt' },
    'Dockerfile': [
      `FROM ${busybox} AS build`,
      'RUN mkdir /lib2 && echo foo > /lib2/libfoo.so.1.2 && ln -s libfoo.so.1.2 /lib2/libfoo.so',
      `FROM ${busybox}`,
      'COPY dir/link /tmp/',
      'COPY dir/l* /wild/',
      'COPY dir/* /glob/',
      'COPY --from=build /lib2/libfoo.so /out/',
      'COPY --from=build /lib2 /lib2copy/',
      'COPY dir /dircopy/',
      '',
    ].join('\n'),
  })
  out = join(await freshDir('tsb-out-'), 'fs')
  await buildOk(['build', '-o', `type=local,dest=${out}`, ctx], { root: await freshDir('tsb-root-') })
})

describe('COPY of a symlink keeps the name it was copied by', () => {
  test.each([
    ['COPY dir/link /tmp/', 'tmp/link', 'one\n'],
    ['COPY dir/l* /wild/', 'wild/link', 'one\n'],
    ['COPY dir/* /glob/', 'glob/link', 'one\n'],
    ['COPY --from=build /lib2/libfoo.so /out/', 'out/libfoo.so', 'foo\n'],
  ])('%s gives /%s as a regular file with the target\'s content', async (_step, path, content) => {
    expect((await lstat(join(out, path))).isFile()).toBe(true)
    expect(await readFile(join(out, path), 'utf8')).toBe(content)
  })

  test.each([
    ['tmp/one.txt'], ['wild/one.txt'], ['out/libfoo.so.1.2'],
  ])('the link target\'s name /%s is not created', async (path) => {
    await expect(lstat(join(out, path))).rejects.toThrow(/ENOENT/)
  })

  test('a wildcard matching both the link and its target copies both under their own names', async () => {
    expect(await readFile(join(out, 'glob/one.txt'), 'utf8')).toBe('one\n')
  })
})

describe('symlinks inside a copied directory stay symlinks', () => {
  test.each([
    ['COPY --from=build /lib2 /lib2copy/', 'lib2copy/libfoo.so', 'libfoo.so.1.2', 'lib2copy/libfoo.so.1.2'],
    ['COPY dir /dircopy/', 'dircopy/link', 'one.txt', 'dircopy/one.txt'],
  ])('%s', async (_step, link, target, file) => {
    expect((await lstat(join(out, link))).isSymbolicLink()).toBe(true)
    expect(await readlink(join(out, link))).toBe(target)
    expect((await lstat(join(out, file))).isFile()).toBe(true)
  })
})

describe('copying onto symlinks in the image', () => {
  test('two links to the same missing directory: everything lands in it, once', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      'c/a/x': 'x\n',
      'c/b/y': 'y\n',
      'Dockerfile': `FROM ${busybox}\nRUN mkdir /d && ln -s /t /d/a && ln -s /t /d/b\nCOPY c/ /d/\n`,
    })
    const dest = join(await freshDir('tsb-out-'), 'fs')
    await buildOk(['build', '-o', `type=local,dest=${dest}`, ctx], { root: await freshDir('tsb-root-') })
    expect(await readFile(join(dest, 't/x'), 'utf8')).toBe('x\n')
    expect(await readFile(join(dest, 't/y'), 'utf8')).toBe('y\n')
    expect((await lstat(join(dest, 'd/a'))).isSymbolicLink()).toBe(true)
  })
})
