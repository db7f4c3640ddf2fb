import { statfs } from 'node:fs/promises'
import { TsbuildError } from '../../common/errors.js'

const UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 1024, kb: 1024, kib: 1024,
  m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2,
  g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3,
  t: 1024 ** 4, tb: 1024 ** 4, tib: 1024 ** 4,
}

/**
 * Parse a storage size such as `10GB`, `512m`, `1.5GiB` or `1048576`. As with
 * docker's `--keep-storage`, KB/MB/GB are binary multiples (GB = GiB), so the
 * same spelling means the same size in both tools.
 */
export function parseSize (text: string, what = 'size'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text)
  const mult = m === null ? undefined : UNITS[m[2]!.toLowerCase()]
  if (m === null || mult === undefined) {
    throw new TsbuildError('USAGE', `invalid ${what} ${JSON.stringify(text)}: expected a number with an optional unit (B, KB, MB, GB, TB)`)
  }
  return Math.floor(Number(m[1]) * mult)
}

/** Decimal units with up to 3 significant digits, as `docker system df` prints sizes. */
export function formatSize (bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB']
  let v = bytes
  let i = 0
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++ }
  const shown = i === 0 ? String(v) : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)
  return `${shown.replace(/\.?0+$/, (s) => (s.includes('.') ? '' : s))}${units[i]}`
}

/** Default GC cap: 10% of the filesystem holding the state dir, at most 20 GB. */
export const DEFAULT_CAP_FRACTION = 0.1
export const DEFAULT_CAP_MAX = 20 * 1000 ** 3

export async function defaultMaxStorage (stateDir: string): Promise<number> {
  const fs = await statfs(stateDir)
  return Math.min(DEFAULT_CAP_MAX, Math.floor(fs.blocks * fs.bsize * DEFAULT_CAP_FRACTION))
}
