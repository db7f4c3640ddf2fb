import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { openStateDir, resolveStateDir } from './stateDir.js'

describe('resolveStateDir', () => {
  test.each([
    { env: { TSBUILD_ROOT: '/srv/tsb', HOME: '/home/u' }, uid: 0, want: '/srv/tsb' },
    { env: { HOME: '/home/u' }, uid: 0, want: '/var/lib/tsbuild' },
    { env: { HOME: '/home/u' }, uid: 1000, want: '/home/u/.local/share/tsbuild' },
    { env: { HOME: '/home/u', XDG_DATA_HOME: '/data' }, uid: 1000, want: '/data/tsbuild' },
    { env: { TSBUILD_ROOT: '', HOME: '/home/u' }, uid: 1000, want: '/home/u/.local/share/tsbuild' },
  ])('$env (uid $uid) → $want', ({ env, uid, want }) => {
    expect(resolveStateDir(env, { uid })).toBe(want)
  })
})

describe('openStateDir', () => {
  test('creates an OCI layout, concurrently and idempotently, never overwriting index.json', async () => {
    const root = join(await mkdtemp(join(tmpdir(), 'tsbuild-state-')), 'root')
    await Promise.all([openStateDir(root), openStateDir(root), openStateDir(root)])
    expect((await readdir(root)).sort()).toEqual(['blobs', 'index.json', 'locks', 'oci-layout', 'tmp'])
    expect(JSON.parse(await readFile(join(root, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' })
    expect(JSON.parse(await readFile(join(root, 'index.json'), 'utf8'))).toMatchObject({ schemaVersion: 2, manifests: [] })
    await writeFile(join(root, 'index.json'), '{"schemaVersion":2,"manifests":[{"x":1}]}')
    const dir = await openStateDir(root)
    expect(await readFile(dir.indexPath, 'utf8')).toContain('"x":1')
    expect(await readdir(dir.tmpDir)).toEqual([])
  })
})
