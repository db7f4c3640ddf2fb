import { randomBytes } from 'node:crypto'
import { mkdir, open, readFile, readdir, rename, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { isProcessAlive } from '../../common/process.js'

/** What a lease keeps alive besides everything used after it started. */
export interface LeaseResources {
  records?: readonly string[]
  snapshots?: readonly string[]
  blobs?: readonly string[]
}

/** The on-disk form of `<stateDir>/leases/<id>.json`. */
export interface LeaseFile {
  id: string
  pid: number
  /** ms since epoch; anything used (record touched, snapshot or blob written) since then is protected. */
  startedMs: number
  records: string[]
  snapshots: string[]
  blobs: string[]
}

/**
 * A running build's claim on the store. The garbage collector keeps every
 * resource named in a live lease, and every record, snapshot and blob whose
 * last use is not older than the lease's start: a build touches the records
 * it hits and writes fresh snapshots and blobs, so what it uses is covered
 * without naming each item. A lease whose pid is dead is ignored (and
 * removed by the next collection), so a crashed build never pins the store.
 *
 * The holder must call `release()` when done; `add()` may be called any time
 * before that.
 */
export class Lease {
  private state: LeaseFile
  private writing: Promise<void> = Promise.resolve()
  private released = false

  constructor (private readonly dir: string, state: LeaseFile) {
    this.state = state
  }

  get id (): string { return this.state.id }
  get startedMs (): number { return this.state.startedMs }

  /** Name more resources; a no-op once released (a late caller must not revive the lease). */
  async add (res: LeaseResources): Promise<void> {
    if (this.released) return
    const merge = (a: string[], b: readonly string[] | undefined): string[] => b === undefined ? a : [...new Set([...a, ...b])]
    this.state = {
      ...this.state,
      records: merge(this.state.records, res.records),
      snapshots: merge(this.state.snapshots, res.snapshots),
      blobs: merge(this.state.blobs, res.blobs),
    }
    const snapshot = this.state
    this.writing = this.writing.catch(() => undefined).then(async () => { if (!this.released) await writeLease(this.dir, snapshot) })
    await this.writing
  }

  async release (): Promise<void> {
    this.released = true
    await this.writing.catch(() => undefined)
    await unlink(join(this.dir, `${this.state.id}.json`)).catch(() => undefined)
  }
}

export class LeaseManager {
  readonly dir: string

  constructor (stateDir: string) {
    this.dir = join(stateDir, 'leases')
  }

  async acquire (res: LeaseResources = {}, now: number = Date.now()): Promise<Lease> {
    await mkdir(this.dir, { recursive: true })
    const state: LeaseFile = {
      id: `${process.pid}-${randomBytes(6).toString('hex')}`,
      pid: process.pid,
      startedMs: now,
      records: [...(res.records ?? [])],
      snapshots: [...(res.snapshots ?? [])],
      blobs: [...(res.blobs ?? [])],
    }
    await writeLease(this.dir, state)
    return new Lease(this.dir, state)
  }

  /** Leases of live processes. With `removeDead`, files of dead holders are deleted. */
  async active (opts: { removeDead?: boolean } = {}): Promise<LeaseFile[]> {
    let names: string[]
    try { names = await readdir(this.dir) } catch { return [] }
    const out: LeaseFile[] = []
    for (const name of names) {
      if (!name.endsWith('.json')) continue
      const path = join(this.dir, name)
      let lease: LeaseFile
      try { lease = JSON.parse(await readFile(path, 'utf8')) as LeaseFile } catch { continue }
      if (isProcessAlive(lease.pid)) out.push(lease)
      else if (opts.removeDead === true) await unlink(path).catch(() => undefined)
    }
    return out
  }
}

async function writeLease (dir: string, state: LeaseFile): Promise<void> {
  const tmp = join(dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`)
  const fh = await open(tmp, 'w', 0o600)
  try { await fh.writeFile(JSON.stringify(state)) } finally { await fh.close() }
  await rename(tmp, join(dir, `${state.id}.json`))
}

