import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { TsbuildError } from '../../common/errors.js'
import { defaultMaxStorage, parseSize } from './size.js'

export interface GcPolicy {
  /** Bytes the build cache may hold; collections bring it back under. */
  maxStorage: number
  /** Where the number came from, for du and messages. */
  source: 'env' | 'config' | 'default'
}

/**
 * The one cap on the build cache: `TSBUILD_GC_MAX_STORAGE`, else
 * `<stateDir>/config.json` → `{"gc":{"maxStorage":"10GB"}}`, else 10% of the
 * filesystem holding the state dir, capped at 20 GB. The default follows
 * BuildKit's reasoning (a share of the disk, bounded so large disks are not
 * filled with cache nobody asked for) with a smaller share, because tsbuild
 * keeps the image store in the same directory.
 */
export async function loadGcPolicy (stateDir: string, env: NodeJS.ProcessEnv): Promise<GcPolicy> {
  const fromEnv = env['TSBUILD_GC_MAX_STORAGE']
  if (fromEnv !== undefined && fromEnv !== '') return { maxStorage: parseSize(fromEnv, 'TSBUILD_GC_MAX_STORAGE'), source: 'env' }
  const path = join(stateDir, 'config.json')
  let text: string | undefined
  try { text = await readFile(path, 'utf8') } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  if (text !== undefined) {
    let config: { gc?: { maxStorage?: unknown } }
    try { config = JSON.parse(text) as typeof config } catch (err) {
      throw new TsbuildError('USAGE', `cannot read ${path}: ${(err as Error).message}`, { cause: err })
    }
    const v = config.gc?.maxStorage
    if (typeof v === 'number') return { maxStorage: v, source: 'config' }
    if (typeof v === 'string') return { maxStorage: parseSize(v, `gc.maxStorage in ${path}`), source: 'config' }
    if (v !== undefined) throw new TsbuildError('USAGE', `gc.maxStorage in ${path} must be a size such as "10GB"`)
  }
  return { maxStorage: await defaultMaxStorage(stateDir), source: 'default' }
}
