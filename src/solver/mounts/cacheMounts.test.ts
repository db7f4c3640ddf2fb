import { existsSync } from 'node:fs'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, test } from 'vitest'
import { hasCode } from '../../common/errors.js'
import { CacheMountManager } from './cacheMounts.js'

const stateDir = async (): Promise<string> => await mkdtemp(join(tmpdir(), 'tsbuild-cachemount-'))

describe('CacheMountManager', () => {
  test('a cache directory persists across leases and managers (builds)', async () => {
    const dir = await stateDir()
    const first = await new CacheMountManager(dir).acquire({ id: 'go-build', sharing: 'shared' })
    await writeFile(join(first.hostPath, 'obj'), 'compiled')
    await first.release()
    const second = await new CacheMountManager(dir).acquire({ id: 'go-build', sharing: 'locked' })
    expect(second.hostPath).toBe(first.hostPath)
    expect(await readFile(join(second.hostPath, 'obj'), 'utf8')).toBe('compiled')
    await second.release()
  })

  test('different ids get different directories', async () => {
    const m = new CacheMountManager(await stateDir())
    const a = await m.acquire({ id: 'a', sharing: 'shared' })
    const b = await m.acquire({ id: 'b', sharing: 'shared' })
    expect(a.hostPath).not.toBe(b.hostPath)
  })

  test('shared: concurrent users get the same directory', async () => {
    const m = new CacheMountManager(await stateDir())
    const [a, b] = await Promise.all([m.acquire({ id: 'x', sharing: 'shared' }), m.acquire({ id: 'x', sharing: 'shared' })])
    expect(a.hostPath).toBe(b.hostPath)
  })

  test('private: a concurrent second user gets a fresh directory, reused once free', async () => {
    const m = new CacheMountManager(await stateDir())
    const a = await m.acquire({ id: 'p', sharing: 'private' })
    await writeFile(join(a.hostPath, 'mine'), 'a')
    const b = await m.acquire({ id: 'p', sharing: 'private' })
    expect(b.hostPath).not.toBe(a.hostPath)
    await b.release()
    const c = await m.acquire({ id: 'p', sharing: 'private' })
    expect(c.hostPath).toBe(b.hostPath)
    await a.release()
    const d = await m.acquire({ id: 'p', sharing: 'private' })
    expect(d.hostPath).toBe(a.hostPath)
    expect(await readFile(join(d.hostPath, 'mine'), 'utf8')).toBe('a')
  })

  test('locked: a second user waits until the first releases', async () => {
    const m = new CacheMountManager(await stateDir())
    const order: string[] = []
    const a = await m.acquire({ id: 'l', sharing: 'locked' })
    const waiting = m.acquire({ id: 'l', sharing: 'locked' }).then((lease) => { order.push('b acquired'); return lease })
    await new Promise((resolve) => setTimeout(resolve, 150))
    order.push('a releases')
    await a.release()
    const b = await waiting
    expect(order).toEqual(['a releases', 'b acquired'])
    expect(b.hostPath).toBe(a.hostPath)
    await b.release()
  })

  test('locked: a waiter can be cancelled', async () => {
    const m = new CacheMountManager(await stateDir())
    const a = await m.acquire({ id: 'l', sharing: 'locked' })
    const ac = new AbortController()
    const waiting = m.acquire({ id: 'l', sharing: 'locked' }, ac.signal)
    setTimeout(() => ac.abort(), 50)
    await expect(waiting).rejects.toThrow()
    await a.release()
  })

  test('locked excludes another process on the same state dir', async () => {
    const dir = await stateDir()
    const m = new CacheMountManager(dir)
    const a = await m.acquire({ id: 'xproc', sharing: 'locked' })
    const script = `
      import { CacheMountManager } from ${JSON.stringify(join(import.meta.dirname, 'cacheMounts.ts'))}
      import { writeFileSync } from 'node:fs'
      writeFileSync(${JSON.stringify(join(dir, 'child-started'))}, '')
      const t = Date.now()
      const l = await new CacheMountManager(${JSON.stringify(dir)}).acquire({ id: 'xproc', sharing: 'locked' })
      console.log(Date.now() - t)
      await l.release()`
    const scriptFile = join(await mkdtemp(join(tmpdir(), 'tsbuild-xproc-')), 'lock.ts')
    await writeFile(scriptFile, script)
    const repo = join(import.meta.dirname, '../../..')
    const child = promisify(execFile)(join(repo, 'node_modules/.bin/vite-node'), [scriptFile], { cwd: repo })
    // Start timing only once the child really waits: its startup is slow on a loaded machine.
    while (!existsSync(join(dir, 'child-started'))) await new Promise((resolve) => setTimeout(resolve, 50))
    await new Promise((resolve) => setTimeout(resolve, 800))
    await a.release()
    const waited = Number((await child).stdout.trim())
    expect(waited).toBeGreaterThan(300)
  })

  test('first creation applies mode/uid/gid and runs the seed; later users do not re-seed', async () => {
    const m = new CacheMountManager(await stateDir())
    let seeds = 0
    const seed = async (into: string): Promise<void> => { seeds++; await writeFile(join(into, 'seeded'), 'from stage') }
    const a = await m.acquire({ id: 's', sharing: 'shared', mode: 0o750, uid: 1000, gid: 1001, baseKey: 'b1', seed })
    const st = await stat(a.hostPath)
    expect(st.mode & 0o7777).toBe(0o750)
    if (process.getuid?.() === 0) expect([st.uid, st.gid]).toEqual([1000, 1001])
    expect(await readFile(join(a.hostPath, 'seeded'), 'utf8')).toBe('from stage')
    await writeFile(join(a.hostPath, 'seeded'), 'written by a step')
    await a.release()
    const again = await m.acquire({ id: 's', sharing: 'shared', baseKey: 'b1', seed })
    expect(again.hostPath).toBe(a.hostPath)
    expect(await readFile(join(again.hostPath, 'seeded'), 'utf8')).toBe('written by a step')
    expect(seeds).toBe(1)
  })

  test('a cache with a base is apart from the plain cache of its id and from other bases', async () => {
    const m = new CacheMountManager(await stateDir())
    const seed = (text: string) => async (into: string): Promise<void> => { await writeFile(join(into, 'f'), text) }
    const plain = await m.acquire({ id: 'x', sharing: 'shared' })
    const b1 = await m.acquire({ id: 'x', sharing: 'shared', baseKey: 'b1', seed: seed('one') })
    const b2 = await m.acquire({ id: 'x', sharing: 'shared', baseKey: 'b2', seed: seed('two') })
    expect(new Set([plain.hostPath, b1.hostPath, b2.hostPath]).size).toBe(3)
    expect(existsSync(join(plain.hostPath, 'f'))).toBe(false)
    expect(await readFile(join(b1.hostPath, 'f'), 'utf8')).toBe('one')
    expect(await readFile(join(b2.hostPath, 'f'), 'utf8')).toBe('two')
    for (const l of [plain, b1, b2]) await l.release()
    // du and GC see each by its name, and remove takes that name.
    expect((await m.list()).map((u) => u.id).sort()).toEqual(['x', 'x:b1', 'x:b2'])
    await m.remove('x:b1')
    expect((await m.list()).map((u) => u.id).sort()).toEqual(['x', 'x:b2'])
  })

  test.each(['private', 'locked'] as const)('%s: a new instance is seeded too', async (sharing) => {
    const m = new CacheMountManager(await stateDir())
    const seed = async (into: string): Promise<void> => { await writeFile(join(into, 'f'), 'base') }
    const a = await m.acquire({ id: 'ps', sharing, baseKey: 'b', seed })
    expect(await readFile(join(a.hostPath, 'f'), 'utf8')).toBe('base')
    if (sharing === 'private') {
      // A second concurrent private user gets another instance, which starts from the base as well.
      const b = await m.acquire({ id: 'ps', sharing, baseKey: 'b', seed })
      expect(b.hostPath).not.toBe(a.hostPath)
      expect(await readFile(join(b.hostPath, 'f'), 'utf8')).toBe('base')
      await b.release()
    }
    await a.release()
  })

  test('a failing seed leaves no directory behind, so the next user seeds again', async () => {
    const m = new CacheMountManager(await stateDir())
    const failing = async (): Promise<void> => { throw new Error('disk full') }
    await expect(m.acquire({ id: 'f', sharing: 'locked', baseKey: 'b', seed: failing })).rejects.toThrow('disk full')
    const ok = await m.acquire({ id: 'f', sharing: 'locked', baseKey: 'b', seed: async (into) => { await writeFile(join(into, 'f'), 'ok') } })
    expect(await readFile(join(ok.hostPath, 'f'), 'utf8')).toBe('ok')
    await ok.release()
  })

  test('release records last use and size for du', async () => {
    const m = new CacheMountManager(await stateDir())
    const before = Date.now()
    const a = await m.acquire({ id: 'sized', sharing: 'shared' })
    await writeFile(join(a.hostPath, 'blob'), Buffer.alloc(64 * 1024, 1))
    await a.release()
    await a.release() // idempotent
    const [usage] = await m.list()
    expect(usage?.id).toBe('sized')
    expect(usage?.sizeBytes).toBeGreaterThanOrEqual(64 * 1024)
    expect(Date.parse(usage!.lastUsed)).toBeGreaterThanOrEqual(before - 1000)
  })

  test('remove refuses while a locked user holds the cache', async () => {
    const m = new CacheMountManager(await stateDir())
    const a = await m.acquire({ id: 'r', sharing: 'locked' })
    await expect(m.remove('r')).rejects.toSatisfy((e: unknown) => hasCode(e, 'UNAVAILABLE'))
    await a.release()
    await m.remove('r')
    expect(await m.list()).toEqual([])
  })
})
