import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Piscina } from 'piscina'

/**
 * The worker pool that compresses layer chunks; share one per process and
 * `destroy()` it at exit. The threads (and piscina itself) start on the first
 * `run`: a rebuild whose layer blobs are all cached never pays for them.
 */
export interface ExportPool {
  readonly maxThreads: number
  run (task: unknown, opts?: { transferList?: ArrayBuffer[]; signal?: AbortSignal }): Promise<unknown>
  destroy (): Promise<void>
}

export interface ExportPoolOptions {
  /** Worker threads; defaults to the number of cores. */
  maxThreads?: number
}

export async function createExportPool (opts: ExportPoolOptions = {}): Promise<ExportPool> {
  return new LazyPool(opts.maxThreads ?? availableParallelism())
}

class LazyPool implements ExportPool {
  private started?: Promise<Piscina>
  private destroyed = false

  constructor (readonly maxThreads: number) {}

  async run (task: unknown, opts: { transferList?: ArrayBuffer[]; signal?: AbortSignal } = {}): Promise<unknown> {
    if (this.destroyed) throw new Error('export pool used after destroy()')
    this.started ??= this.start()
    const pool = await this.started
    return await pool.run(task, { ...(opts.transferList !== undefined ? { transferList: opts.transferList } : {}), ...(opts.signal !== undefined ? { signal: opts.signal } : {}) })
  }

  async destroy (): Promise<void> {
    this.destroyed = true
    const started = this.started
    this.started = undefined
    if (started !== undefined) await (await started).destroy()
  }

  private async start (): Promise<Piscina> {
    const [{ Piscina }, filename] = await Promise.all([import('piscina'), compressWorkerFile()])
    return new Piscina({ filename, maxThreads: this.maxThreads, minThreads: Math.min(this.maxThreads, 1), idleTimeout: 30_000 })
  }
}

/**
 * The compiled worker sits beside this module. When tsbuild runs from its
 * TypeScript sources (the unit and integration tests), worker threads cannot
 * load `.ts`, so the worker is transpiled once with esbuild (a dev dependency
 * of the test runner) into node_modules/.cache, where its package imports
 * still resolve.
 */
async function compressWorkerFile (): Promise<string> {
  const here = fileURLToPath(import.meta.url)
  if (!here.endsWith('.ts')) return join(dirname(here), 'compressWorker.js')
  const source = await readFile(join(dirname(here), 'compressWorker.ts'), 'utf8')
  const cacheDir = join(dirname(here), '..', '..', 'node_modules', '.cache', 'tsbuild')
  const target = join(cacheDir, `compressWorker-${createHash('sha256').update(source).digest('hex').slice(0, 16)}.mjs`)
  if (existsSync(target)) return target
  const esbuild = await import('esbuild')
  const { code } = await esbuild.transform(source, { loader: 'ts', format: 'esm', target: 'node20' })
  await mkdir(cacheDir, { recursive: true })
  const tmp = `${target}.${process.pid}.${Date.now()}.tmp`
  await writeFile(tmp, code)
  await rename(tmp, target)
  return target
}
