import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { lstat, mkdir, readdir, readFile, readlink, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { canonicalJson, sha256, type Digest } from '../../../common/digest.js'
import { TsbuildError } from '../../../common/errors.js'
import { resolveSources } from './resolveSources.js'

export interface SourceSelection {
  src: string
  followSymlinks: boolean
  allowWildcard: boolean
  allowEmptyWildcard: boolean
  /** Paths (relative to each selected source) the copy leaves out. */
  exclude?: (relPath: string, isDir: boolean) => boolean
}

/**
 * Digest of exactly what a COPY of `sel.src` reads from the filesystem at
 * `root`: each match's path as selected, and below it every entry's type,
 * permission bits, uid/gid, file content and symlink target — never times.
 * Sources are matched with the same rules the copy itself uses, so the key
 * covers what lands in the layer.
 */
export async function checksumSelection (root: string, sel: SourceSelection): Promise<Digest> {
  const matches = await resolveSources(root, sel.src, { allowWildcard: sel.allowWildcard, followSymlinks: sel.followSymlinks })
  if (matches.length === 0) {
    if (sel.allowEmptyWildcard) return sha256('')
    throw new TsbuildError('NOT_FOUND', `no source files were specified or matched by ${JSON.stringify(sel.src)}`)
  }
  const hash = createHash('sha256')
  for (const m of matches) hash.update(`${m.relPath}\0${await entryDigest(m.hostPath, '', sel.exclude) ?? ''}\0`)
  return `sha256:${hash.digest('hex')}` as Digest
}

async function entryDigest (host: string, rel: string, exclude: SourceSelection['exclude']): Promise<string | undefined> {
  const st = await lstat(host)
  if (rel !== '' && exclude?.(rel, st.isDirectory())) return undefined
  const header = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`
  if (st.isSymbolicLink()) return sha256(`symlink ${header} ${await readlink(host)}`)
  if (st.isFile()) return sha256(`file ${header} ${await fileDigest(host)}`)
  if (!st.isDirectory()) return undefined // the copy skips sockets, fifos and devices too
  let text = `dir ${header}\0`
  for (const name of (await readdir(host)).sort()) {
    const d = await entryDigest(join(host, name), rel === '' ? name : `${rel}/${name}`, exclude)
    if (d !== undefined) text += `${name}\0${d}\0`
  }
  return sha256(text)
}

async function fileDigest (host: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(host)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/**
 * Checksums of COPY sources, remembered under `<stateDir>/copy-checksums/` by
 * the source's snapshot names and the selection. A committed snapshot never
 * changes under its name (names are unique, or the layer's diffID), so a
 * rebuild whose source stage came from the cache reads no file again.
 */
export class SourceChecksumMemo {
  private readonly dir: string

  constructor (stateDir: string) {
    this.dir = join(stateDir, 'copy-checksums')
  }

  static keyOf (layers: readonly string[], selection: Record<string, unknown>): string {
    return sha256(canonicalJson({ layers: [...layers], selection })).slice('sha256:'.length)
  }

  async get (key: string): Promise<Digest | undefined> {
    const text = await readFile(join(this.dir, key), 'utf8').catch(() => undefined)
    return text !== undefined && /^sha256:[0-9a-f]{64}$/.test(text) ? text as Digest : undefined
  }

  async put (key: string, digest: Digest): Promise<void> {
    await mkdir(this.dir, { recursive: true })
    const tmp = join(this.dir, `.${key}.${process.pid}.${Math.random().toString(36).slice(2)}`)
    await writeFile(tmp, digest)
    await rename(tmp, join(this.dir, key))
  }
}
