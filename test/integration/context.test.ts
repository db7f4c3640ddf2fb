import { chownSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, statSync, utimesSync, writeFileSync, mkdirSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { checksum, copyContext, loadDockerignore, scanContext } from '../../src/solver/index.js'

function fresh (prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), prefix))
}

describe('build context on a real filesystem', () => {
  test('named Dockerfile ignore file wins over .dockerignore, and the scan honours it', async () => {
    const ctx = fresh('tsbuild-ctx-')
    mkdirSync(path.join(ctx, 'docker'))
    writeFileSync(path.join(ctx, 'docker/app.Dockerfile'), 'FROM scratch\n')
    writeFileSync(path.join(ctx, 'docker/app.Dockerfile.dockerignore'), '*.secret\n')
    writeFileSync(path.join(ctx, '.dockerignore'), 'keep.txt\n')
    writeFileSync(path.join(ctx, 'keep.txt'), 'k')
    writeFileSync(path.join(ctx, 'x.secret'), 's')
    const named = await loadDockerignore({ contextDir: ctx, dockerfilePath: 'docker/app.Dockerfile' })
    expect(named).toEqual({ file: path.join(ctx, 'docker/app.Dockerfile.dockerignore'), patterns: ['*.secret'] })
    const plain = await loadDockerignore({ contextDir: ctx, dockerfilePath: 'Dockerfile' })
    expect(plain.patterns).toEqual(['keep.txt'])
    const snap = await scanContext(ctx, { excludePatterns: named.patterns })
    expect(snap.records.has('keep.txt')).toBe(true)
    expect(snap.records.has('x.secret')).toBe(false)
  })

  // Setting owners other than our own needs root.
  test.skipIf(process.geteuid?.() !== 0)('copyContext keeps modes, links and mtimes, owns everything by 0:0 and matches the checksum', async () => {
    const ctx = fresh('tsbuild-ctx-')
    mkdirSync(path.join(ctx, 'bin'), { mode: 0o750 })
    writeFileSync(path.join(ctx, 'bin/tool'), '#!/bin/sh\necho hi\n', { mode: 0o4755 })
    writeFileSync(path.join(ctx, 'data.txt'), 'data')
    writeFileSync(path.join(ctx, 'ignored.log'), 'log')
    symlinkSync('/etc/passwd', path.join(ctx, 'abs-link'))
    chownSync(path.join(ctx, 'data.txt'), 1000, 1000)
    utimesSync(path.join(ctx, 'data.txt'), 1_600_000_000, 1_600_000_000)
    const snap = await scanContext(ctx, { excludePatterns: ['*.log'], ownership: 'root' })
    const dest = path.join(fresh('tsbuild-dest-'), 'rootfs')
    const res = await copyContext(snap, dest)
    expect(res.files).toBe(3)
    expect(statSync(path.join(dest, 'bin')).mode & 0o7777).toBe(0o750)
    expect(statSync(path.join(dest, 'bin/tool')).mode & 0o7777).toBe(0o4755)
    expect(statSync(path.join(dest, 'data.txt'))).toMatchObject({ uid: 0, gid: 0, mtimeMs: 1_600_000_000_000 })
    expect(readFileSync(path.join(dest, 'data.txt'), 'utf8')).toBe('data')
    expect(lstatSync(path.join(dest, 'abs-link')).isSymbolicLink()).toBe(true)
    expect(readlinkSync(path.join(dest, 'abs-link'))).toBe('/etc/passwd')
    expect(() => statSync(path.join(dest, 'ignored.log'))).toThrow()
    const copied = await scanContext(dest)
    // The destination root is ours, not the context's; compare what lies inside it.
    expect(await checksum(copied, '*')).toBe(await checksum(snap, '*'))
  })

  test('copyContext with an explicit owner', async () => {
    const ctx = fresh('tsbuild-ctx-')
    writeFileSync(path.join(ctx, 'f'), 'x')
    const dest = fresh('tsbuild-dest-')
    await copyContext(await scanContext(ctx), dest, { uid: process.getuid!(), gid: process.getgid!() })
    expect(statSync(path.join(dest, 'f'))).toMatchObject({ uid: process.getuid!(), gid: process.getgid!() })
  })

  test('2,000-file context: a no-op rescan reads nothing', async () => {
    const ctx = fresh('tsbuild-ctx-')
    for (let d = 0; d < 40; d++) {
      mkdirSync(path.join(ctx, `d${d}`))
      for (let f = 0; f < 50; f++) writeFileSync(path.join(ctx, `d${d}`, `f${f}`), `file ${d}/${f}\n`)
    }
    const stateDir = fresh('tsbuild-state-')
    await new Promise((resolve) => setTimeout(resolve, 2100)) // past the default racy window
    const cold = await scanContext(ctx, { stateDir })
    expect(cold.stats.filesHashed).toBe(2000)
    const warm = await scanContext(ctx, { stateDir })
    expect(warm.stats).toMatchObject({ filesHashed: 0, statCacheHits: 2000 })
    expect(await checksum(warm, '/')).toBe(await checksum(cold, '/'))
  })
})
