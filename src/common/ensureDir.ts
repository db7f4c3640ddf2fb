import { mkdir, open, stat, unlink, writeFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { TsbuildError } from './errors.js'

/** What a directory or file is for, named at the start of an error: `output type=local,dest=out`. */
export interface FsPurpose {
  /** e.g. `output dest=out/`, `state dir`, `--metadata-file`; the path is added after it. */
  what?: string
  hint?: string
}

/**
 * Create `dir` and its missing parents, one component at a time, and fail with
 * a one-line TsbuildError naming the path and the cause. Node's recursive
 * mkdir retries without end where every create answers ENOENT (/proc, /sys),
 * so this walks up to the nearest existing ancestor once, requires it to be a
 * directory, and creates each missing component exactly once.
 */
export async function ensureDir (dir: string, purpose: FsPurpose = {}): Promise<void> {
  await makeDirs(resolve(dir), purpose, resolve(dir))
}

/** `shown`: the path the user gave, named in errors (a file's path when its parents are made). */
async function makeDirs (target: string, purpose: FsPurpose, shown: string): Promise<void> {
  const missing: string[] = []
  for (let cur = target; ; cur = dirname(cur)) {
    const st = await stat(cur).catch((err: NodeJS.ErrnoException) => err)
    if (!(st instanceof Error)) {
      if (!st.isDirectory()) throw notADirectory(shown, cur, purpose)
      break
    }
    // ENOTDIR: some ancestor is a file; keep walking up to name it.
    if (st.code !== 'ENOENT' && st.code !== 'ENOTDIR') throw fsError(st, shown, purpose)
    if (dirname(cur) === cur) throw fsError(st, shown, purpose)
    missing.push(cur)
  }
  for (const p of missing.reverse()) {
    try {
      await mkdir(p)
    } catch (err) {
      const e = err as NodeJS.ErrnoException
      if (e.code === 'EEXIST') {
        const st = await stat(p).catch(() => undefined)
        if (st?.isDirectory() === true) continue // created meanwhile by someone else
        throw notADirectory(shown, p, purpose)
      }
      // ENOENT right after the parent was found or made: the filesystem takes no new entries here.
      if (e.code === 'ENOENT') throw failure(shown, `cannot create ${p}: ${dirname(p)} does not accept new directories`, purpose, err)
      throw fsError(e, shown, purpose, `cannot create ${p}`)
    }
  }
}

/** Make the parent directories of a file about to be written, and refuse a path that is a directory. */
export async function ensureFileDest (file: string, purpose: FsPurpose = {}): Promise<void> {
  await makeDirs(dirname(resolve(file)), purpose, resolve(file))
  const st = await stat(file).catch(() => undefined)
  if (st?.isDirectory() === true) throw failure(resolve(file), 'is a directory, expected a file path', purpose)
}

/**
 * Check before a build that a file written after it can be: its directories
 * are made and the file is opened for appending (and removed again when it
 * did not exist), so `/proc/x` or a read-only place fails before any step runs.
 */
export async function probeFileDest (file: string, purpose: FsPurpose = {}): Promise<void> {
  if (file.endsWith('/')) throw failure(resolve(file), 'names a directory (it ends in /), expected a file path', purpose)
  await ensureFileDest(file, purpose)
  const existed = await stat(file).then(() => true, () => false)
  try {
    await (await open(file, 'a')).close()
    if (!existed) await unlink(file)
  } catch (err) {
    throw fsError(err as NodeJS.ErrnoException, resolve(file), purpose)
  }
}

/** Write a small file (creating its parent directories); every failure is a one-line TsbuildError. */
export async function writeFileSafely (file: string, data: string | Uint8Array, purpose: FsPurpose = {}): Promise<void> {
  await ensureFileDest(file, purpose)
  try {
    await writeFile(file, data)
  } catch (err) {
    throw fsError(err as NodeJS.ErrnoException, resolve(file), purpose)
  }
}

/** True for an error from a filesystem call (it has an errno code such as ENOENT). */
export function isFsError (err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && typeof (err as NodeJS.ErrnoException).syscall === 'string'
}

/** The cause of a filesystem error in words, e.g. `permission denied`. */
export function describeFsError (err: NodeJS.ErrnoException): string {
  const words: Record<string, string> = {
    ENOENT: 'no such file or directory',
    ENOTDIR: 'a parent is not a directory',
    EISDIR: 'is a directory',
    EEXIST: 'already exists',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'read-only file system',
    ENOSPC: 'no space left on device',
    EDQUOT: 'disk quota exceeded',
    ENAMETOOLONG: 'file name too long',
    ELOOP: 'too many levels of symbolic links',
    EXDEV: 'crosses filesystems',
  }
  const code = err.code ?? ''
  return words[code] !== undefined ? `${words[code]} (${code})` : (err.message.split('\n')[0] ?? code)
}

/** A filesystem error as a TsbuildError naming `path`: `<what> <path>: <context>: <cause>`. */
export function fsError (err: NodeJS.ErrnoException, path: string, purpose: FsPurpose = {}, context?: string): TsbuildError {
  return failure(path, `${context !== undefined ? `${context}: ` : ''}${describeFsError(err)}`, purpose, err)
}

function notADirectory (target: string, found: string, purpose: FsPurpose): TsbuildError {
  return failure(target, found === target ? 'is a file, not a directory' : `${found} is a file, not a directory`, purpose)
}

function failure (path: string, why: string, purpose: FsPurpose, cause?: unknown): TsbuildError {
  return new TsbuildError('IO', `${purpose.what !== undefined ? `${purpose.what} ` : ''}${path}: ${why}`, {
    ...(purpose.hint !== undefined ? { hint: purpose.hint } : {}), ...(cause !== undefined ? { cause } : {}),
  })
}
