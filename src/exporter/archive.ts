import { createReadStream, createWriteStream } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { TsbuildError } from '../common/errors.js'
import { ensureFileDest } from '../common/ensureDir.js'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { END_OF_ARCHIVE, encodeTarHeader, tarPadding } from './tarHeader.js'

/** One member of an export archive: a directory, or a file read from a path or given as bytes. */
export type ArchiveMember =
  | { name: string; kind: 'dir' }
  | { name: string; kind: 'file'; size: number; path: string }
  | { name: string; kind: 'bytes'; data: Buffer }

/**
 * Stream a tar of `members` (sorted by name here, so callers need not) to
 * `dest`, or to `stdout` when dest is `-`. Every header has mode 0644/0755,
 * owner 0:0 and the given mtime, so the same members give the same bytes.
 * Files are written to a temp name and renamed, so an interrupted export
 * leaves no half archive under the requested name.
 */
export async function writeArchive (dest: string, members: readonly ArchiveMember[], opts: { mtime: number; stdout?: NodeJS.WritableStream }): Promise<void> {
  const sorted = [...members].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)))
  const body = Readable.from(archiveBytes(sorted, opts.mtime))
  if (dest === '-') {
    if (opts.stdout === undefined) throw new Error('archive destination "-" needs a stdout stream')
    await pipeline(body, opts.stdout, { end: false })
    return
  }
  await ensureFileDest(dest)
  const tmp = `${dest}.tmp-${process.pid}-${Date.now()}`
  try {
    await pipeline(body, createWriteStream(tmp))
    await rename(tmp, dest)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
}

async function * archiveBytes (members: readonly ArchiveMember[], mtime: number): AsyncGenerator<Buffer> {
  for (const m of members) {
    const size = m.kind === 'dir' ? 0 : m.kind === 'file' ? m.size : m.data.length
    yield encodeTarHeader({ name: m.name, type: m.kind === 'dir' ? 'directory' : 'file', mode: m.kind === 'dir' ? 0o755 : 0o644, uid: 0, gid: 0, size, mtime })
    if (m.kind === 'bytes') yield m.data
    if (m.kind === 'file') {
      let read = 0
      for await (const chunk of createReadStream(m.path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
        read += chunk.length
        yield chunk
      }
      if (read !== size) {
        // A blob in the state dir that is not what its descriptor says (damaged on disk, cut short by a full disk once).
        throw new TsbuildError('SIZE_MISMATCH', `${m.path} is ${read} bytes, expected ${size}`, { hint: 'the stored blob is damaged: rebuild the image (tsbuild build --no-cache …) or pull it again' })
      }
    }
    yield tarPadding(size)
  }
  yield END_OF_ARCHIVE
}
