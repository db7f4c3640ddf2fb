import { mkdir, open, readFile, readdir, rename, stat, unlink, utimes } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { digestHex } from '../../common/digest.js'
import type { CacheKey, CacheRecord, RecordStore } from './types.js'

/**
 * One JSON file per record under `<root>/records/`, written via temp file +
 * fsync + rename: a crash (kill -9) leaves either no record or a whole one,
 * and two processes writing the same key simply race to an equally valid
 * file. The file's mtime is the record's last use.
 */
export class FileRecordStore implements RecordStore {
  private readonly dir: string
  private ready?: Promise<void>

  constructor (stateDir: string) {
    this.dir = join(stateDir, 'records')
  }

  private async ensure (): Promise<void> {
    this.ready ??= mkdir(this.dir, { recursive: true }).then(() => undefined)
    return this.ready
  }

  private file (key: CacheKey): string {
    return join(this.dir, `${digestHex(key)}.json`)
  }

  async get (key: CacheKey): Promise<CacheRecord | undefined> {
    try {
      const rec = JSON.parse(await readFile(this.file(key), 'utf8')) as CacheRecord
      return rec.key === key ? rec : undefined
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      if (err instanceof SyntaxError) return undefined // unreadable record: treat as a miss, it will be rewritten
      throw err
    }
  }

  async put (record: CacheRecord): Promise<void> {
    await this.ensure()
    const tmp = join(this.dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`)
    const fh = await open(tmp, 'w', 0o600)
    try {
      try {
        await fh.writeFile(JSON.stringify(record))
        await fh.sync()
      } finally {
        await fh.close()
      }
      await rename(tmp, this.file(record.key))
    } catch (err) {
      // A full disk must not leave partial temp files behind to fill it further.
      await unlink(tmp).catch(() => {})
      throw err
    }
  }

  async delete (key: CacheKey): Promise<void> {
    await unlink(this.file(key)).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'ENOENT') throw err })
  }

  async touch (key: CacheKey): Promise<void> {
    const now = new Date()
    await utimes(this.file(key), now, now).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'ENOENT') throw err })
  }

  async * list (): AsyncIterable<CacheRecord & { lastUsed: Date }> {
    let names: string[]
    try { names = await readdir(this.dir) } catch { return }
    for (const name of names) {
      if (!name.endsWith('.json')) continue
      const path = join(this.dir, name)
      try {
        const [text, st] = await Promise.all([readFile(path, 'utf8'), stat(path)])
        yield { ...(JSON.parse(text) as CacheRecord), lastUsed: st.mtime }
      } catch { /* removed concurrently or torn by a crash before rename (cannot happen) */ }
    }
  }

  /** Remove temp files left by a crashed writer (older than a minute, so live writers are safe). */
  async sweep (): Promise<number> {
    let removed = 0
    let names: string[]
    try { names = await readdir(this.dir) } catch { return 0 }
    const cutoff = Date.now() - 60_000
    for (const name of names) {
      if (!name.startsWith('.tmp-')) continue
      const p = join(this.dir, name)
      const st = await stat(p).catch(() => undefined)
      if (st !== undefined && st.mtimeMs < cutoff) { await unlink(p).catch(() => {}); removed++ }
    }
    return removed
  }
}
