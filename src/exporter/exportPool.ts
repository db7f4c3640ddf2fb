import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Piscina } from 'piscina'

/** The worker pool that compresses layer chunks; share one per process and `destroy()` it at exit. */
export type ExportPool = Piscina

export interface ExportPoolOptions {
  /** Worker threads; defaults to the number of cores. */
  maxThreads?: number
}

export async function createExportPool (opts: ExportPoolOptions = {}): Promise<ExportPool> {
  const maxThreads = opts.maxThreads ?? availableParallelism()
  return new Piscina({ filename: await compressWorkerFile(), maxThreads, minThreads: Math.min(maxThreads, 1), idleTimeout: 30_000 })
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
  if (here.endsWith('.js')) return join(dirname(here), 'compressWorker.js')
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
