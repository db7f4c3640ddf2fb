import { execFileSync } from 'node:child_process'
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { copyAction, type CopyAction } from './copy.js'
import { applyMode, parseModeSpec } from './mode.js'

const isRoot = process.getuid?.() === 0

async function tree (files: Record<string, string | { link: string } | { dir: true }>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'cp-'))
  for (const [p, v] of Object.entries(files)) {
    const host = join(root, p)
    await mkdir(join(host, '..'), { recursive: true })
    if (typeof v === 'string') await writeFile(host, v)
    else if ('link' in v) await symlink(v.link, host)
    else await mkdir(host, { recursive: true })
  }
  return root
}

async function list (root: string, dir = ''): Promise<string[]> {
  const out: string[] = []
  for (const n of (await readdir(join(root, dir))).sort()) {
    const rel = dir ? `${dir}/${n}` : n
    const st = await lstat(join(root, rel))
    out.push(st.isDirectory() ? `${rel}/` : st.isSymbolicLink() ? `${rel}@` : rel)
    if (st.isDirectory()) out.push(...await list(root, rel))
  }
  return out
}

const COPY = (src: string, dest: string, extra: Partial<CopyAction> = {}): CopyAction => ({
  src, dest, followSymlinks: true, dirCopyContents: true, createDestPath: true, allowWildcard: true, allowEmptyWildcard: true, ...extra,
})

describe.runIf(isRoot)('COPY semantics (needs root for chown)', () => {
  const ctx = {
    'a.txt': 'A', 'b.txt': 'B', 'c.md': 'C',
    'dir/x': 'X', 'dir/sub/y': 'Y',
    'link-to-a': { link: 'a.txt' },
    'escape': { link: '/etc' },
  }

  test.each([
    ['file to new path', COPY('a.txt', '/out'), ['out']],
    ['file to dir with slash', COPY('a.txt', '/out/'), ['out/', 'out/a.txt']],
    ['dir copies its contents', COPY('dir', '/app'), ['app/', 'app/sub/', 'app/sub/y', 'app/x']],
    ['dot copies the whole context', COPY('.', '/w/', { exclude: (p) => p.startsWith('escape') || p.startsWith('link') }), ['w/', 'w/a.txt', 'w/b.txt', 'w/c.md', 'w/dir/', 'w/dir/sub/', 'w/dir/sub/y', 'w/dir/x']],
    ['wildcard into dir', COPY('*.txt', '/t/'), ['t/', 't/a.txt', 't/b.txt']],
    ['wildcard, several matches, no slash', COPY('*.txt', '/t'), ['t/', 't/a.txt', 't/b.txt']],
    ['wildcard matching nothing is allowed', COPY('*.none', '/n/'), []],
    ['nested wildcard', COPY('d*/s*/*', '/z/'), ['z/', 'z/y']],
    ['symlink source is followed', COPY('link-to-a', '/f'), ['f']],
    ['--parents keeps directories', COPY('dir/sub/y', '/p/', { parents: true }), ['p/', 'p/dir/', 'p/dir/sub/', 'p/dir/sub/y']],
    ['--parents with a pivot', COPY('dir/./sub/y', '/p/', { parents: true }), ['p/', 'p/sub/', 'p/sub/y']],
    ['--exclude', COPY('dir', '/e/', { exclude: (p) => p === 'x' }), ['e/', 'e/sub/', 'e/sub/y']],
  ])('%s', async (_name, action, want) => {
    const src = await tree(ctx)
    const dst = await mkdtemp(join(tmpdir(), 'dst-'))
    await copyAction({ srcRoot: src, destRoot: dst, defaultOwner: { uid: 0, gid: 0 } }, action)
    expect(await list(dst)).toEqual(want)
  })

  describe('a followed symlink keeps the name it was copied by', () => {
    const links = { 'dir/one.txt': 'ONE', 'dir/link': { link: 'one.txt' }, 'lib/libfoo.so.1.2': 'FOO', 'lib/libfoo.so': { link: 'libfoo.so.1.2' } }
    test.each([
      ['plain source into a directory', COPY('dir/link', '/tmp/', { allowWildcard: false }), 'tmp/link', ['tmp/', 'tmp/link']],
      ['wildcard matching only the link', COPY('dir/l*', '/wild/'), 'wild/link', ['wild/', 'wild/link']],
      ['wildcard matching link and target', COPY('dir/*', '/glob/'), 'glob/link', ['glob/', 'glob/link', 'glob/one.txt']],
      ['versioned library link', COPY('lib/libfoo.so', '/out/'), 'out/libfoo.so', ['out/', 'out/libfoo.so']],
    ])('%s', async (_name, action, file, want) => {
      const src = await tree(links)
      const dst = await mkdtemp(join(tmpdir(), 'dst-'))
      await copyAction({ srcRoot: src, destRoot: dst, defaultOwner: { uid: 0, gid: 0 } }, action)
      expect(await list(dst)).toEqual(want)
      expect((await lstat(join(dst, file))).isFile()).toBe(true)
      expect(await readFile(join(dst, file), 'utf8')).toBe(file.includes('libfoo') ? 'FOO' : 'ONE')
    })

    test('symlinks inside a copied directory stay symlinks', async () => {
      const src = await tree(links)
      const dst = await mkdtemp(join(tmpdir(), 'dst-'))
      await copyAction({ srcRoot: src, destRoot: dst }, COPY('lib', '/usr/lib/'))
      expect(await list(dst)).toEqual(['usr/', 'usr/lib/', 'usr/lib/libfoo.so@', 'usr/lib/libfoo.so.1.2'])
      expect(await readlink(join(dst, 'usr/lib/libfoo.so'))).toBe('libfoo.so.1.2')
    })
  })

  test('a missing source is a clear error', async () => {
    const src = await tree(ctx)
    const dst = await mkdtemp(join(tmpdir(), 'dst-'))
    await expect(copyAction({ srcRoot: src, destRoot: dst }, COPY('nope.txt', '/x', { allowWildcard: false }))).rejects.toThrow('"/nope.txt": not found')
  })

  test('a context symlink to /etc is followed inside the context, not on the host', async () => {
    const src = await tree(ctx)
    const dst = await mkdtemp(join(tmpdir(), 'dst-'))
    await expect(copyAction({ srcRoot: src, destRoot: dst }, COPY('escape/passwd', '/p', { allowWildcard: false }))).rejects.toThrow(/not found/)
  })

  test('an image symlink /evil -> / never leads a write onto the host', async () => {
    const src = await tree({ 'passwd': 'pwned' })
    const dst = await tree({ 'evil': { link: '/' }, 'etc/keep': 'k', 'up': { link: '../../../../../tmp' } })
    await copyAction({ srcRoot: src, destRoot: dst }, COPY('passwd', '/evil/etc/passwd'))
    expect(await readFile(join(dst, 'etc/passwd'), 'utf8')).toBe('pwned')
    await copyAction({ srcRoot: src, destRoot: dst }, COPY('passwd', '/up/escaped'))
    expect(await readFile(join(dst, 'tmp/escaped'), 'utf8')).toBe('pwned')
    expect(await readFile('/etc/passwd', 'utf8')).not.toContain('pwned')
    // a link to a directory is a directory destination, resolved inside the root
    await copyAction({ srcRoot: src, destRoot: dst }, COPY('passwd', '/evil'))
    expect(await readFile(join(dst, 'passwd'), 'utf8')).toBe('pwned')
    expect((await lstat(join(dst, 'evil'))).isSymbolicLink()).toBe(true)
  })

  test('--chown and --chmod apply to files and created directories', async () => {
    const src = await tree(ctx)
    const dst = await mkdtemp(join(tmpdir(), 'dst-'))
    await copyAction({ srcRoot: src, destRoot: dst }, COPY('dir', '/deep/app/', { owner: { uid: 1000, gid: 1001 }, mode: parseModeSpec('u=rwx,go=rx') }))
    for (const p of ['deep', 'deep/app', 'deep/app/x', 'deep/app/sub/y']) {
      const st = await stat(join(dst, p))
      expect([p, st.uid, st.gid]).toEqual([p, 1000, 1001])
    }
    expect((await stat(join(dst, 'deep/app/x'))).mode & 0o777).toBe(0o755)
  })

  test('ADD extracts a local tar.gz by content, whatever its name', async () => {
    const src = await tree({ 'payload/f.txt': 'inside', 'payload/d/g': 'g' })
    execFileSync('tar', ['-czf', join(src, 'archive.bin'), '-C', join(src, 'payload'), '.'])
    const dst = await mkdtemp(join(tmpdir(), 'dst-'))
    await copyAction({ srcRoot: src, destRoot: dst }, COPY('archive.bin', '/x/', { attemptUnpack: true }))
    expect(await readFile(join(dst, 'x/f.txt'), 'utf8')).toBe('inside')
    expect(await readFile(join(dst, 'x/d/g'), 'utf8')).toBe('g')
  })

  test('an archive entry cannot climb out of the root', async () => {
    const src = await tree({ 'w/evil': { link: '/' } })
    execFileSync('tar', ['-cf', join(src, 'a.tar'), '-C', join(src, 'w'), 'evil'])
    // a second member written through the planted link
    const stage = await tree({ 'evil/etc/owned': 'x' })
    execFileSync('tar', ['-rf', join(src, 'a.tar'), '-C', stage, 'evil/etc/owned'])
    const dst = await mkdtemp(join(tmpdir(), 'dst-'))
    await copyAction({ srcRoot: src, destRoot: dst }, COPY('a.tar', '/', { attemptUnpack: true }))
    expect(await readFile(join(dst, 'etc/owned'), 'utf8')).toBe('x')
    await expect(stat('/etc/owned')).rejects.toThrow()
    expect(await readlink(join(dst, 'evil'))).toBe('/')
  })
})

describe('chmod specs', () => {
  test.each([
    ['755', 0o644, false, 0o755],
    ['u+x', 0o644, false, 0o744],
    ['g-w,o-r', 0o666, false, 0o642],
    ['a+X', 0o644, true, 0o755],
    ['a+X', 0o644, false, 0o644],
    ['go=r', 0o777, false, 0o744],
  ])('%s on %o', (spec, mode, isDir, want) => {
    expect(applyMode(parseModeSpec(spec), mode, isDir)).toBe(want)
  })
  test('bad spec', () => expect(() => parseModeSpec('u+q')).toThrow(/invalid chmod/))
})
