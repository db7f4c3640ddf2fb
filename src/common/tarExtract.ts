import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type tar from 'tar-stream'

/**
 * tar-stream's extractor, with PAX records read so that extended attribute
 * values keep their bytes. tar-stream decodes every PAX value as UTF-8 text,
 * which garbles binary attributes such as `security.capability` (the file
 * capabilities of ping and friends): restoring one then fails or, worse,
 * sets something else. Docker and BuildKit write those values as raw bytes.
 *
 * The extractor looks its PAX decoder up on its headers module at each
 * header, so installing a decoder there that keeps `SCHILY.xattr.*` values
 * as latin1 strings (one character per byte) is enough; {@link paxXattrs}
 * turns them back into bytes. Every other record decodes as before.
 */
const XATTR_PREFIX = 'SCHILY.xattr.'

// Loaded on first use: a no-op rebuild never reads a tar.
const lazyRequire = createRequire(import.meta.url)
let loaded: typeof tar | undefined

export function createTarExtract (): tar.Extract {
  if (loaded === undefined) {
    const headers = lazyRequire(join(dirname(lazyRequire.resolve('tar-stream')), 'headers.js')) as { decodePax: (buf: Buffer) => Record<string, string> }
    headers.decodePax = decodePax
    loaded = lazyRequire('tar-stream') as typeof tar
  }
  return loaded.extract()
}

/** An entry's extended attributes (from its PAX records, after {@link createTarExtract}), by name. */
export function paxXattrs (header: tar.Header): Map<string, Buffer> {
  const out = new Map<string, Buffer>()
  for (const [k, v] of Object.entries(header.pax ?? {})) {
    if (k.startsWith(XATTR_PREFIX)) out.set(k.slice(XATTR_PREFIX.length), Buffer.from(String(v), 'latin1'))
  }
  return out
}

/** PAX extended header records: `<length> <key>=<value>\n`, length counting the whole record. */
export function decodePax (buf: Buffer): Record<string, string> {
  const result: Record<string, string> = {}
  let at = 0
  while (at < buf.length) {
    const space = buf.indexOf(0x20, at)
    if (space < 0) break
    const length = Number.parseInt(buf.toString('latin1', at, space), 10)
    if (!(length > 0) || at + length > buf.length) break
    const record = buf.subarray(space + 1, at + length - 1) // without the newline
    const eq = record.indexOf(0x3d) // '='
    if (eq < 0) break
    const key = record.toString('utf8', 0, eq)
    result[key] = record.toString(key.startsWith(XATTR_PREFIX) ? 'latin1' : 'utf8', eq + 1)
    at += length
  }
  return result
}
