/**
 * Loading a bundled command file through V8's code cache.
 *
 * Node 20 compiles an ES module from scratch on every start: for the `build`
 * command (a few hundred KB of bundled code) parsing plus the lazy compilation
 * of each function on its first call was ~25 ms of every short build. So the
 * bundler writes each command as a CommonJS file, and this loader compiles it
 * with `vm.Script`, handing V8 the code cache a previous run left beside it.
 * The cache is written when a run ends (`createCachedData` after execution
 * holds every function that run compiled, and those it took from the cache),
 * when there was none or V8 rejected it (another Node version, other V8
 * flags), and again by the next few runs: a cache written by a cold build
 * alone lacks what a fully cached rebuild runs, so it gathers the functions
 * of several kinds of runs before it is left alone. Its name carries the
 * file's sha256, so a rebuilt bundle never meets a stale cache; a directory
 * that is not writable (a read-only install) just means no cache. The
 * bundles contain no `import()` (the bundler turns it into require), since
 * code compiled from a cache has no dynamic-import hook in Node 20.
 */
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { basename, dirname, join } from 'node:path'
import vm from 'node:vm'

/** Run a CommonJS bundle file and return its exports, using and maintaining its code cache. */
export function loadWithCodeCache (file: string, atExit: (save: () => void) => void = (save) => process.once('exit', save)): unknown {
  const source = readFileSync(file, 'utf8')
  const key = createHash('sha256').update(source).update(process.version).update(process.arch).digest('hex').slice(0, 24)
  const cacheFile = join(dirname(file), '.v8-cache', `${basename(file)}-${key}.bin`)
  let cachedData: Buffer | undefined
  let refreshes = 0
  try {
    cachedData = readFileSync(cacheFile)
    refreshes = Number(readFileSync(`${cacheFile}.runs`, 'utf8')) || 0
  } catch { /* first run: compiled from source, cached at exit */ }
  // The CommonJS wrapper on the first line keeps line numbers (and source maps) right.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    ...(cachedData !== undefined ? { cachedData } : {}),
  })
  const isStale = cachedData === undefined || script.cachedDataRejected === true
  if (isStale || refreshes < REFRESHES) atExit(() => saveCache(script, cacheFile, isStale ? 0 : refreshes + 1))
  const module = { exports: {} as unknown }
  const fn = script.runInThisContext() as (e: unknown, r: NodeJS.Require, m: { exports: unknown }, f: string, d: string) => void
  fn(module.exports, createRequire(file), module, file, dirname(file))
  return module.exports
}

/** How many runs after the first rewrite the cache with what they compiled. */
const REFRESHES = 3

function saveCache (script: vm.Script, cacheFile: string, refreshes: number): void {
  try {
    mkdirSync(dirname(cacheFile), { recursive: true })
    const tmp = `${cacheFile}.${process.pid}.tmp`
    writeFileSync(tmp, script.createCachedData())
    renameSync(tmp, cacheFile) // atomic: a concurrent run reads the old cache or the new one, never half of one
    writeFileSync(`${cacheFile}.runs`, String(refreshes))
  } catch { /* a read-only install runs without a cache */ }
}
