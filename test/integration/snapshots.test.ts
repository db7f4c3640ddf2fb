import { createHash } from 'node:crypto'
import { existsSync, lstatSync, readFileSync, readlinkSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { gzipSync } from 'node:zlib'
import tar from 'tar-stream'
import { describe, expect, test } from 'vitest'
import { compress } from 'zstd-napi'
import { applyLayer, isMountPoint, mountAll, Snapshotter, snapshotKey, snapshotName, unmountAll, unpackLayer } from '../../src/cache/snapshots/index.js'
import type { Digest } from '../../src/common/digest.js'
import { hasCode } from '../../src/common/errors.js'

const isRoot = process.getuid?.() === 0

type Entry = Partial<tar.Header> & { name: string; body?: string }

async function makeTar (entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack()
  const chunks: Buffer[] = []
  pack.on('data', (c: unknown) => { chunks.push(c as Buffer) })
  const done = new Promise<void>((resolve) => { pack.on('end', () => resolve()) })
  for (const { body, ...header } of entries) {
    await new Promise<void>((resolve, reject) => pack.entry({ ...header, mode: header.mode ?? 0o644, mtime: header.mtime ?? new Date(1_700_000_000_000) }, body ?? '', (err) => err ? reject(err) : resolve()))
  }
  pack.finalize()
  await done
  return Buffer.concat(chunks)
}

const diffIdOf = (b: Buffer): Digest => `sha256:${createHash('sha256').update(b).digest('hex')}` as Digest

describe.skipIf(!isRoot)('layer unpacking (needs root for devices, xattrs and ownership)', () => {
  test.each([
    ['uncompressed', (b: Buffer) => b],
    ['gzip', (b: Buffer) => gzipSync(b)],
    ['zstd', (b: Buffer) => compress(b)],
  ])('%s layers unpack to overlay format with whiteouts, links and metadata', async (_name, encode) => {
    const plain = await makeTar([
      { name: 'etc/', type: 'directory', mode: 0o755 },
      { name: 'etc/conf', body: 'x=1\n', mode: 0o640, uid: 12, gid: 34 },
      { name: 'etc/conf-link', type: 'link', linkname: 'etc/conf' },
      { name: 'etc/rel', type: 'symlink', linkname: 'conf' },
      { name: 'etc/.wh.gone', body: '' },
      { name: 'var/.wh..wh..opq', body: '' },
      { name: 'bin/su', body: '#!', mode: 0o4755 },
    ])
    const root = await mkdtemp(join(tmpdir(), 'tsbuild-apply-'))
    const { diffID } = await applyLayer(Readable.from([encode(plain)]), root)
    expect(diffID).toBe(diffIdOf(plain))
    const conf = lstatSync(join(root, 'etc/conf'))
    expect([conf.mode & 0o7777, conf.uid, conf.gid, conf.mtimeMs]).toEqual([0o640, 12, 34, 1_700_000_000_000])
    expect(lstatSync(join(root, 'etc/conf-link')).ino).toBe(conf.ino)
    expect(readlinkSync(join(root, 'etc/rel'))).toBe('conf')
    const gone = lstatSync(join(root, 'etc/gone'))
    expect(gone.isCharacterDevice() && gone.rdev === 0).toBe(true)
    expect(existsSync(join(root, 'etc/.wh.gone'))).toBe(false)
    expect(lstatSync(join(root, 'bin/su')).mode & 0o7777).toBe(0o4755)
    expect(lstatSync(join(root, 'etc')).mtimeMs).toBe(1_700_000_000_000)
  })

  test.each([
    ['dot-dot in a name', [{ name: '../../escape-dotdot', body: 'x' }], 'escape-dotdot'],
    ['absolute symlink to / then a write through it', [{ name: 'evil', type: 'symlink', linkname: '/' }, { name: 'evil/OUTSIDE/pwned', body: 'x' }], 'OUTSIDE/pwned'],
    ['relative symlink climbing out then a write through it', [{ name: 'link', type: 'symlink', linkname: '../../../OUTSIDE' }, { name: 'link/pwned', body: 'x' }], 'OUTSIDE/pwned'],
    ['a file replacing a symlink to the outside', [{ name: 'f', type: 'symlink', linkname: '/OUTSIDE/target' }, { name: 'f', body: 'x' }], 'f'],
    ['a hard link to a path outside', [{ name: 'h', type: 'link', linkname: '../../../OUTSIDE/target' }], undefined],
  ] as Array<[string, Entry[], string | undefined]>)('%s never writes outside the root', async (_name, entries, landsAt) => {
    const parent = await mkdtemp(join(tmpdir(), 'tsbuild-escape-'))
    const outside = join(parent, 'OUTSIDE')
    await mkdir(outside)
    await writeFile(join(outside, 'target'), 'host file')
    const root = join(parent, 'a', 'b', 'root')
    await mkdir(root, { recursive: true })
    // Absolute link targets name the real outside dir; relative ones climb to it from the root.
    const named = entries.map((e) => e.linkname?.startsWith('/OUTSIDE') === true ? { ...e, linkname: e.linkname.replace('/OUTSIDE', outside) } : e)
    const result = applyLayer(Readable.from([await makeTar(named)]), root)
    if (landsAt === undefined) expect(hasCode(await result.catch((e: unknown) => e), 'NOT_FOUND')).toBe(true)
    else await result
    expect(await readdir(outside)).toEqual(['target'])
    expect(readFileSync(join(outside, 'target'), 'utf8')).toBe('host file')
    expect(await readdir(parent)).toEqual(['OUTSIDE', 'a'])
    if (landsAt !== undefined) expect(existsSync(join(root, landsAt))).toBe(true)
  })

  test('unpackLayer is idempotent per diffID, also when called concurrently, and verifies the diffID', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'tsbuild-unpack-'))
    const s = new Snapshotter(stateDir, 'overlay')
    const layer = await makeTar([{ name: 'hello', body: 'world' }])
    const id = diffIdOf(layer)
    const [a, b] = await Promise.all([unpackLayer(s, id, Readable.from([layer])), unpackLayer(s, id, Readable.from([layer]))])
    const c = await unpackLayer(s, id, Readable.from([layer]))
    expect(new Set([a.id, b.id, c.id]).size).toBe(1)
    expect((await readdir(s.root)).filter((e) => e !== 'names')).toEqual([a.id])
    const wrong = await unpackLayer(s, diffIdOf(Buffer.from('other')), Readable.from([layer])).catch((e: unknown) => e)
    expect(hasCode(wrong, 'DIGEST_MISMATCH')).toBe(true)
    expect((await readdir(s.root)).filter((e) => e !== 'names')).toEqual([a.id])
  })
})

describe.skipIf(!isRoot)('overlay snapshots (needs root to mount)', () => {
  test('a chain of 100 layers mounts despite the page-size limit on mount options', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'tsbuild-deep-chain-with-a-long-directory-name-'))
    const s = new Snapshotter(stateDir, 'overlay')
    let parent: ReturnType<typeof snapshotName> | undefined
    for (let i = 0; i < 100; i++) {
      const name = snapshotName(`layer-${i}`)
      await s.createCommitted(name, async (fs) => { await writeFile(join(fs, `f${i}`), String(i)) })
      if (parent !== undefined) {
        // re-parent through an active snapshot so each layer sits on the previous one
        const key = snapshotKey(`k${i}`)
        await s.prepare(key, [parent, name])
        parent = (await s.commit(key, snapshotName(`stack-${i}`))).name
      } else parent = name
    }
    const mounts = await s.prepare(snapshotKey('top'), parent!)
    expect(mounts[0]!.options.join(',').length).toBeGreaterThan(4096)
    const target = await mkdtemp(join(tmpdir(), 'tsbuild-mnt-'))
    await mountAll(mounts, target, { relativeTo: s.root })
    try {
      for (let i = 0; i < 100; i++) expect(readFileSync(join(target, `f${i}`), 'utf8')).toBe(String(i))
    } finally {
      await unmountAll(target)
    }
    expect(await isMountPoint(target)).toBe(false)
  })

  test('a stack too deep for one overlay mount is a plain error naming the layer count, not a crash', async () => {
    const root = await mkdtemp(join(tmpdir(), 'tsbuild-too-deep-'))
    const lowers = Array.from({ length: 320 }, (_, i) => join(root, `${String(i).padStart(10, '0')}`, 'fs'))
    const err = await mountAll([{ type: 'overlay', source: 'overlay', options: ['index=off', `lowerdir=${lowers.join(':')}`, `upperdir=${join(root, 'u')}`, `workdir=${join(root, 'w')}`] }], join(root, 'target'), { relativeTo: root })
      .catch((e: unknown) => e)
    expect(hasCode(err, 'TOO_LARGE')).toBe(true)
    expect((err as Error).message).toContain('stacks 320 layers')
  })

  test('a stack whose snapshots each list their whole chain resolves in linear time, topmost occurrence first', async () => {
    // The solver gives each step's snapshot its whole flattened stack as
    // parents, and each parent lists its own stack again. Walking that as a
    // tree doubles with every layer: 40 layers would never finish.
    const stateDir = await mkdtemp(join(tmpdir(), 'tsbuild-flat-chain-'))
    const s = new Snapshotter(stateDir, 'overlay')
    const stack = [snapshotName('base')]
    const base = await s.createCommitted(stack[0]!, async (fs) => { await writeFile(join(fs, 'base'), '') })
    const ids = [base.id]
    for (let i = 1; i <= 40; i++) {
      const key = snapshotKey(`step-${i}`)
      await s.prepare(key, [...stack])
      const info = await s.commit(key, snapshotName(`step-${i}`))
      stack.push(info.name)
      ids.push(info.id)
    }
    const dirs = (list: string[]): string[] => list.map((id) => join(s.root, id, 'fs'))
    expect(await s.lowerDirs(stack)).toEqual(dirs(ids))
    expect(await s.lowerDirs([stack[40]!])).toEqual(dirs(ids))
    // A layer named again above its first place counts where it is topmost.
    expect(await s.lowerDirs([stack[2]!, stack[0]!])).toEqual(dirs([ids[1]!, ids[2]!, ids[0]!]))
  }, 20_000)

  test('a commit drops directories overlay only copied up, and keeps an emptied opaque one', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'tsbuild-prune-'))
    const s = new Snapshotter(stateDir, 'overlay')
    const base = await s.createCommitted(snapshotName('base'), async (fs) => {
      await mkdir(join(fs, 'keep/sub'), { recursive: true })
      await writeFile(join(fs, 'keep/sub/old'), 'old')
      await mkdir(join(fs, 'touched'))
      await writeFile(join(fs, 'touched/f'), 'f')
      // Whole seconds, which utimes can restore exactly.
      await utimes(join(fs, 'touched'), 1_700_000_000, 1_700_000_000)
      await utimes(join(fs, 'keep/sub'), 1_700_000_000, 1_700_000_000)
    })
    const commitAfter = async (key: string, change: (root: string) => Promise<void>): Promise<string[]> => {
      const mounts = await s.prepare(snapshotKey(key), base.name)
      const target = await mkdtemp(join(tmpdir(), 'tsbuild-mnt-'))
      await mountAll(mounts, target, { relativeTo: s.root })
      try { await change(target) } finally { await unmountAll(target) }
      const info = await s.commit(snapshotKey(key), snapshotName(`after-${key}`))
      return (await readdir(info.diffPath, { recursive: true })).sort()
    }
    // A file created and removed again leaves only a copied-up dir with the lower dir's metadata: dropped.
    expect(await commitAfter('created-and-removed', async (root) => {
      await writeFile(join(root, 'touched/tmp'), 'x')
      await rm(join(root, 'touched/tmp'))
      await utimes(join(root, 'touched'), 1_700_000_000, 1_700_000_000)
    })).toEqual([])
    // A directory removed and made again is opaque and empty: it hides the lower contents, so it stays.
    expect(await commitAfter('replaced', async (root) => {
      await rm(join(root, 'keep/sub'), { recursive: true })
      await mkdir(join(root, 'keep/sub'))
      await utimes(join(root, 'keep/sub'), 1_700_000_000, 1_700_000_000) // only the opaque mark tells it from the lower one
    })).toEqual(['keep', 'keep/sub'])
  })

  test('cleanup sweeps snapshots left by dead processes and keeps live ones', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'tsbuild-cleanup-'))
    const s = new Snapshotter(stateDir, 'overlay')
    await s.prepare(snapshotKey('mine'))
    const kept = await s.createCommitted(snapshotName('kept'), async () => {})
    const crashed = join(s.root, 'a-crashed')
    await mkdir(join(crashed, 'fs'), { recursive: true })
    await writeFile(join(crashed, 'meta.json'), JSON.stringify({ kind: 'active', parents: [], pid: 2 ** 22 + 1, created: '' }))
    expect(await s.cleanup()).toEqual(['a-crashed'])
    expect(await s.stat(snapshotName('kept'))).toEqual(kept)
    expect(existsSync(s.activeFsPath(snapshotKey('mine')))).toBe(true)
  })
})
