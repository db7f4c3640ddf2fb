/**
 * `tsbuild build -`: the build context comes from stdin, as with `docker
 * build -`. A tar (plain, gzip, bzip2, xz or zstd) is the context, with the
 * Dockerfile inside it (`dockerfile`, from `-f`, is relative to the archive's
 * root); any
 * other input is the Dockerfile itself, and the context is empty.
 */
import { createWriteStream } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { TsbuildError } from '../common/errors.js'
import { resolveInRoot } from '../common/pathInRoot.js'
import { detectArchive, unpackArchive } from '../solver/ops/file/unpack.js'

export interface StdinContext {
  /** The directory the build reads as its context. */
  readonly contextDir: string
  /** The Dockerfile inside an archive, or undefined when stdin was the Dockerfile itself (then in `dockerfileText`). */
  readonly dockerfilePath?: string
  readonly dockerfileText?: string
  /** Remove what was written; safe to call more than once. */
  remove (): Promise<void>
}

/**
 * Spool stdin to a temp dir under the state dir's `tmp/` (never into memory:
 * a context can be large) and unpack it there. A crash leaves only that dir,
 * which garbage collection sweeps once it is an hour old.
 */
export async function contextFromStdin (stdin: Readable, stateDir: string, dockerfile: string): Promise<StdinContext> {
  const tmp = join(stateDir, 'tmp')
  await mkdir(tmp, { recursive: true })
  const dir = await mkdtemp(join(tmp, 'stdin-context-'))
  const remove = async (): Promise<void> => { await rm(dir, { recursive: true, force: true }) }
  try {
    const spooled = join(dir, 'stdin')
    await pipeline(stdin, createWriteStream(spooled, { mode: 0o600 }))
    const contextDir = join(dir, 'context')
    await mkdir(contextDir)
    if (await detectArchive(spooled) === undefined) {
      // As docker build: input that is not an archive is the Dockerfile, whatever -f says.
      return { contextDir, dockerfileText: await readFile(spooled, 'utf8'), remove }
    }
    await unpackArchive(spooled, contextDir, '/', undefined)
    await rm(spooled, { force: true })
    const dockerfilePath = await resolveInRoot(contextDir, dockerfile, { followFinal: true })
    const isFile = await stat(dockerfilePath).then((s) => s.isFile(), () => false)
    if (!isFile) {
      throw new TsbuildError('NOT_FOUND', `the context from stdin has no ${dockerfile}`, {
        hint: 'put a Dockerfile at the root of the archive, or name it with -f PATH, relative to the archive\'s root',
      })
    }
    return { contextDir, dockerfilePath, remove }
  } catch (err) {
    await remove()
    throw err
  }
}
