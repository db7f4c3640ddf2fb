import { chmodSync, chownSync, existsSync, mkdtempSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { digestHex, sha256 } from '../../common/digest.js'
import { checksum } from './checksum.js'
import { scanContext, type ScanOptions } from './scanContext.js'
import { makeTree } from './testContext.js'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const freshStateDir = (): string => mkdtempSync(path.join(tmpdir(), 'tsbuild-state-'))

describe('scanContext', () => {
  test('records type, mode, size, link target and content digest', async () => {
    const root = makeTree({ 'a.txt': 'hello', 'bin/run': { content: '#!/bin/sh\n', mode: 0o755 }, 'empty/': null, 'l': { symlink: '/etc/passwd' } })
    const snap = await scanContext(root)
    expect([...snap.records.keys()]).toEqual(['', 'a.txt', 'bin', 'empty', 'l', 'bin/run'])
    expect(snap.records.get('a.txt')).toMatchObject({ type: 'file', size: 5, digest: sha256('hello') })
    expect(snap.records.get('bin/run')!.mode).toBe(0o755)
    expect(snap.records.get('l')).toMatchObject({ type: 'symlink', linkTarget: '/etc/passwd' })
    expect(snap.records.get('l')!.digest).toBeUndefined()
    expect(snap.children.get('')).toEqual(['a.txt', 'bin', 'empty', 'l'])
    expect(snap.stats).toMatchObject({ entries: 6, filesHashed: 2, bytesHashed: 15 })
  })

  test.each<[string, string[], string[]]>([
    ['plain exclusion', ['*.log', 'tmp'], ['', 'keep.txt', 'src', 'src/a.ts', 'src/deep', 'src/deep/x.log']],
    ['exception inside an excluded directory keeps its parents', ['src', '!src/deep/x.log'], ['', 'a.log', 'keep.txt', 'tmp', 'tmp/t', 'src', 'src/deep', 'src/deep/x.log']],
    ['** exclusion', ['**/*.log'], ['', 'keep.txt', 'src', 'tmp', 'src/a.ts', 'src/deep', 'tmp/t']],
    ['exclude everything but one file', ['*', '!keep.txt'], ['', 'keep.txt']],
  ])('%s', async (_name, excludePatterns, want) => {
    const root = makeTree({ 'keep.txt': 'k', 'a.log': 'l', 'src/a.ts': 'a', 'src/deep/x.log': 'x', 'tmp/t': 't' })
    const snap = await scanContext(root, { excludePatterns })
    expect([...snap.records.keys()].sort()).toEqual([...want].sort())
  })

  test('include patterns keep matches, what is below them, and their parents', async () => {
    const root = makeTree({ 'a/b/c.txt': 'c', 'a/b/d.bin': 'd', 'a/e.txt': 'e', 'z/y.txt': 'y' })
    const snap = await scanContext(root, { includePatterns: ['a/b/*.txt', 'z'] })
    expect([...snap.records.keys()].sort()).toEqual(['', 'a', 'a/b', 'a/b/c.txt', 'z', 'z/y.txt'])
  })

  test('a missing context is NOT_FOUND', async () => {
    await expect(scanContext('/nonexistent/ctx')).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })

  test('a file name that is not valid UTF-8 is fine when ignored, and a clear error otherwise', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'tsbuild-ctx-'))
    writeFileSync(path.join(root, 'good.txt'), 'ok')
    writeFileSync(Buffer.concat([Buffer.from(root + '/bad'), Buffer.from([0xff, 0xfe]), Buffer.from('name')]), 'x')
    const snap = await scanContext(root, { excludePatterns: ['bad*'] })
    expect([...snap.records.keys()]).toContain('good.txt')
    await expect(scanContext(root)).rejects.toMatchObject({ code: 'IO', message: expect.stringMatching(/has a name that is not valid UTF-8/) })
  })
})

describe('stat cache', () => {
  // Files older than the racy window are trusted; tests shorten the window instead of sleeping 2 s.
  const racyWindowMs = 50
  async function settledContext (n = 20): Promise<{ root: string; opts: ScanOptions }> {
    const spec: Record<string, string> = {}
    for (let i = 0; i < n; i++) spec[`d${i % 4}/f${i}.txt`] = `content ${i}`
    const root = makeTree(spec)
    await sleep(racyWindowMs * 2)
    return { root, opts: { stateDir: freshStateDir(), racyWindowMs } }
  }

  test('a no-op rescan reads no file and persists under <stateDir>/contexts', async () => {
    const { root, opts } = await settledContext()
    const cold = await scanContext(root, opts)
    expect(cold.stats.filesHashed).toBe(20)
    expect(existsSync(path.join(opts.stateDir!, 'contexts', `${digestHex(sha256(cold.root))}.json`))).toBe(true)
    const warm = await scanContext(root, opts)
    expect(warm.stats).toMatchObject({ filesHashed: 0, statCacheHits: 20 })
    expect(await checksum(warm, '/')).toBe(await checksum(cold, '/'))
  })

  test('content changed with size and mtime restored is still detected (ctime)', async () => {
    const { root, opts } = await settledContext()
    const file = path.join(root, 'd1/f1.txt')
    utimesSync(file, 1_700_000_000, 1_700_000_000) // whole seconds, so restoring it below is exact
    await sleep(racyWindowMs * 2)
    const before = await scanContext(root, opts)
    const st = statSync(file)
    writeFileSync(file, 'CONTENT 1')
    utimesSync(file, 1_700_000_000, 1_700_000_000)
    expect(statSync(file)).toMatchObject({ mtimeMs: st.mtimeMs, size: st.size, ino: st.ino })
    const after = await scanContext(root, opts)
    expect(after.stats.filesHashed).toBe(1)
    expect(after.records.get('d1/f1.txt')!.digest).toBe(sha256('CONTENT 1'))
    expect(await checksum(after, '/')).not.toBe(await checksum(before, '/'))
  })

  test('a file replaced by another inode with equal size and times is detected', async () => {
    const { root, opts } = await settledContext()
    const file = path.join(root, 'd2/f2.txt')
    utimesSync(file, 1_700_000_000, 1_700_000_000)
    await sleep(racyWindowMs * 2)
    await scanContext(root, opts)
    const tmp = path.join(root, 'repl')
    writeFileSync(tmp, 'content X')
    utimesSync(tmp, 1_700_000_000, 1_700_000_000)
    renameSync(tmp, file)
    const after = await scanContext(root, opts)
    expect(after.records.get('d2/f2.txt')!.digest).toBe(sha256('content X'))
  })

  test('touch changes nothing; chmod changes the checksum', async () => {
    const { root, opts } = await settledContext()
    const base = await checksum(root, '/', { scan: opts })
    const file = path.join(root, 'd3/f3.txt')
    utimesSync(file, new Date(), new Date(Date.now() + 60_000))
    expect(await checksum(root, '/', { scan: opts })).toBe(base)
    chmodSync(file, 0o600)
    expect(await checksum(root, '/', { scan: opts })).not.toBe(base)
  })

  test('files changed within the racy window of their hashing are hashed again', async () => {
    const root = makeTree({ 'a.txt': 'a', 'b.txt': 'b' })
    const opts = { stateDir: freshStateDir(), racyWindowMs: 60_000 }
    await scanContext(root, opts)
    const again = await scanContext(root, opts)
    expect(again.stats.filesHashed).toBe(2)
  })

  test('a corrupt cache file is ignored', async () => {
    const { root, opts } = await settledContext(3)
    const cold = await scanContext(root, opts)
    writeFileSync(path.join(opts.stateDir!, 'contexts', `${digestHex(sha256(cold.root))}.json`), '{not json')
    const again = await scanContext(root, opts)
    expect(again.stats.filesHashed).toBe(3)
    expect(await checksum(again, '/')).toBe(await checksum(cold, '/'))
  })

  // chown to another user needs root.
  test.skipIf(process.geteuid?.() !== 0)('ownership: keep records host owners, root records 0:0', async () => {
    const root = makeTree({ 'f': 'x' })
    chownSync(path.join(root, 'f'), 1234, 5678)
    expect((await scanContext(root)).records.get('f')).toMatchObject({ uid: 1234, gid: 5678 })
    expect((await scanContext(root, { ownership: 'root' })).records.get('f')).toMatchObject({ uid: 0, gid: 0 })
    const keep = await checksum(root, 'f')
    chownSync(path.join(root, 'f'), 1234, 1)
    expect(await checksum(root, 'f')).not.toBe(keep)
  })
})
