import { mkdtemp, readdir, writeFile } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { withFileLock } from './fileLock.js'

async function freshDir (): Promise<string> {
  return await mkdtemp(join(tmpdir(), 'tsbuild-lock-'))
}

describe('withFileLock', () => {
  test('serialises critical sections and releases the lock', async () => {
    const dir = await freshDir()
    const lock = join(dir, 'l.lock')
    let inside = 0
    let maxInside = 0
    await Promise.all(Array.from({ length: 10 }, async () => await withFileLock(lock, async () => {
      inside++
      maxInside = Math.max(maxInside, inside)
      await new Promise((resolve) => setTimeout(resolve, 3))
      inside--
    })))
    expect(maxInside).toBe(1)
    expect(await readdir(dir)).toEqual([])
  })

  test('releases the lock when the section throws', async () => {
    const dir = await freshDir()
    const lock = join(dir, 'l.lock')
    await expect(withFileLock(lock, async () => { throw new Error('boom') })).rejects.toThrow('boom')
    expect(await withFileLock(lock, async () => 'again')).toBe('again')
  })

  test('breaks a lock left by a dead process on this host', async () => {
    const dir = await freshDir()
    const lock = join(dir, 'l.lock')
    // pid 2^22+1 is above Linux's pid_max ceiling, so it cannot be alive.
    await writeFile(lock, JSON.stringify({ pid: 4194305, host: hostname(), token: 'dead' }))
    expect(await withFileLock(lock, async () => 'ok', { timeoutMs: 2000 })).toBe('ok')
  })

  test('times out with UNAVAILABLE while a live owner holds it', async () => {
    const dir = await freshDir()
    const lock = join(dir, 'l.lock')
    await writeFile(lock, JSON.stringify({ pid: process.pid, host: hostname(), token: 'live' }))
    await expect(withFileLock(lock, async () => 'never', { timeoutMs: 100 })).rejects.toMatchObject({ code: 'UNAVAILABLE' })
  })

  test('tells a waiter once who holds the lock, and not at all when it is free or stale', async () => {
    const dir = await freshDir()
    const lock = join(dir, 'l.lock')
    const waits: Array<number | undefined> = []
    const onWait = (pid: number | undefined) => { waits.push(pid) }
    await withFileLock(lock, async () => undefined, { onWait })
    await writeFile(lock, JSON.stringify({ pid: 4194305, host: hostname(), token: 'dead' }))
    await withFileLock(lock, async () => undefined, { onWait })
    expect(waits).toEqual([])
    // Returned wrapped: awaiting the waiter inside the section would wait for ourselves.
    const { waiter } = await withFileLock(lock, async () => {
      const waiter = withFileLock(lock, async () => 'second', { onWait })
      await new Promise((resolve) => setTimeout(resolve, 150))
      expect(waits).toEqual([process.pid])
      return { waiter }
    })
    expect(await waiter).toBe('second')
    expect(waits).toEqual([process.pid])
  })

  test('a waiter with no deadline stops when its signal aborts', async () => {
    const dir = await freshDir()
    const lock = join(dir, 'l.lock')
    await writeFile(lock, JSON.stringify({ pid: process.pid, host: hostname(), token: 'live' }))
    const ac = new AbortController()
    setTimeout(() => ac.abort(new Error('stop')), 50)
    await expect(withFileLock(lock, async () => 'never', { timeoutMs: Infinity, signal: ac.signal })).rejects.toThrow('stop')
  })
})
