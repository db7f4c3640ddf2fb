import { lstat, readlink } from 'node:fs/promises'
import { lstatSync, readlinkSync } from 'node:fs'
import { posix } from 'node:path'
import { TsbuildError } from './errors.js'

const MAX_LINKS = 255

/**
 * Resolve `path` (absolute or relative to `/`) inside `root` the way a chroot
 * would: `..` stops at the root, and symlinks met on the way are followed
 * *inside* the root (an absolute target is taken relative to the root). The
 * returned host path is always under `root`, so a link such as
 * `/evil -> /` or `link -> ../../etc` can never lead a read or a write onto
 * the host. Missing components are fine: the rest is appended as it is.
 *
 * `followFinal` decides whether a symlink in the last component is followed
 * (reads of a COPY source: yes; creating or replacing an entry: no).
 */
export async function resolveInRoot (root: string, path: string, opts: { followFinal?: boolean } = {}): Promise<string> {
  const walk = resolveSteps(root, path, opts.followFinal ?? true)
  let step = walk.next()
  while (step.done !== true) {
    let target: string | null | undefined
    try {
      const st = await lstat(step.value)
      target = st.isSymbolicLink() ? await readlink(step.value) : null
    } catch (err) {
      target = missingOrThrow(err)
    }
    step = walk.next(target)
  }
  return step.value
}

/** The same walk with synchronous lookups, for hot loops over many small entries. */
export function resolveInRootSync (root: string, path: string, opts: { followFinal?: boolean } = {}): string {
  const walk = resolveSteps(root, path, opts.followFinal ?? true)
  let step = walk.next()
  while (step.done !== true) {
    let target: string | null | undefined
    try {
      const st = lstatSync(step.value)
      target = st.isSymbolicLink() ? readlinkSync(step.value) : null
    } catch (err) {
      target = missingOrThrow(err)
    }
    step = walk.next(target)
  }
  return step.value
}

function missingOrThrow (err: unknown): undefined {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
  throw err
}

/**
 * The resolution as a generator, so the async and sync forms share it: it
 * yields each host path to inspect and is sent back the link target (a
 * string), null for an existing non-link, or undefined when missing.
 */
function * resolveSteps (root: string, path: string, followFinal: boolean): Generator<string, string, string | null | undefined> {
  const parts = splitPath(path)
  const resolved: string[] = []
  let links = 0
  let missing = false
  while (parts.length > 0) {
    const name = parts.shift()!
    if (name === '..') { resolved.pop(); continue }
    resolved.push(name)
    if (missing) continue
    if (parts.length === 0 && !followFinal) break
    const target = yield posix.join(root, ...resolved)
    if (target === undefined) { missing = true; continue }
    if (target === null) continue
    if (++links > MAX_LINKS) throw new TsbuildError('PATH_ESCAPE', `too many levels of symbolic links resolving ${path}`)
    resolved.pop()
    if (target.startsWith('/')) resolved.length = 0
    parts.unshift(...splitPath(target))
  }
  return resolved.length === 0 ? root : posix.join(root, ...resolved)
}

function splitPath (p: string): string[] {
  return p.split('/').filter((x) => x !== '' && x !== '.')
}

/** Clean a path lexically and keep it inside `/` (no symlinks consulted). */
export function cleanInRoot (p: string): string {
  const out: string[] = []
  for (const part of splitPath(p)) {
    if (part === '..') out.pop()
    else out.push(part)
  }
  return '/' + out.join('/')
}
