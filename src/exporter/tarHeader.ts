/**
 * Byte-exact tar (ustar + PAX) header encoding. tsbuild writes its own headers
 * instead of tar-stream's packer because that packer turns PAX values into
 * UTF-8 strings, which corrupts binary xattrs such as `security.capability`,
 * and because layer digests depend on every header byte: here each byte comes
 * from the entry alone (no clock, no user database, no atime/ctime).
 */

export type TarEntryType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'directory' | 'fifo'

export interface TarEntry {
  /** Path inside the archive, without a leading slash; directories without the trailing one. */
  name: string
  type: TarEntryType
  mode: number
  uid: number
  gid: number
  /** Body size; only regular files have a body. */
  size: number
  /** Seconds since the epoch, already clamped by the caller. */
  mtime: number
  /** Target for symlinks and hard links. */
  linkname?: string
  devmajor?: number
  devminor?: number
  /** Extended attributes, written as PAX `SCHILY.xattr.<name>` records in name order. */
  xattrs?: ReadonlyMap<string, Buffer>
}

const BLOCK = 512
const TYPEFLAG: Record<TarEntryType, string> = {
  file: '0', link: '1', symlink: '2', char: '3', block: '4', directory: '5', fifo: '6',
}
const MAX_OCTAL_7 = 0o7777777
const MAX_OCTAL_11 = 0o77777777777

export const END_OF_ARCHIVE = Buffer.alloc(BLOCK * 2)

/** Zero bytes that pad a body of `size` bytes to the next block. */
export function tarPadding (size: number): Buffer {
  const rest = size % BLOCK
  return rest === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rest)
}

/** The header block(s) for one entry: an optional PAX header plus the ustar header. */
export function encodeTarHeader (entry: TarEntry): Buffer {
  const pax: Array<[string, Buffer]> = []
  let name = entry.type === 'directory' ? `${entry.name}/` : entry.name
  let prefix = ''
  const split = splitUstarName(name)
  if (split === undefined) {
    pax.push(['path', Buffer.from(name)])
  } else {
    ;({ name, prefix } = split)
  }
  let linkname = entry.linkname ?? ''
  if (Buffer.byteLength(linkname) > 100) {
    pax.push(['linkpath', Buffer.from(linkname)])
  }
  const fit = (key: string, value: number, max: number): number => {
    if (value >= 0 && value <= max && Number.isInteger(value)) return value
    pax.push([key, Buffer.from(String(value))])
    return 0
  }
  const uid = fit('uid', entry.uid, MAX_OCTAL_7)
  const gid = fit('gid', entry.gid, MAX_OCTAL_7)
  const size = fit('size', entry.type === 'file' ? entry.size : 0, MAX_OCTAL_11)
  const mtime = fit('mtime', entry.mtime, MAX_OCTAL_11)
  if (entry.xattrs !== undefined) {
    for (const key of [...entry.xattrs.keys()].sort()) pax.push([`SCHILY.xattr.${key}`, entry.xattrs.get(key)!])
  }

  const header = ustarBlock({
    name, prefix, linkname, mode: entry.mode & 0o7777, uid, gid, size, mtime,
    typeflag: TYPEFLAG[entry.type], devmajor: entry.devmajor ?? 0, devminor: entry.devminor ?? 0,
  })
  if (pax.length === 0) return header
  const body = encodePaxRecords(pax)
  const base = entry.name.split('/').pop() ?? ''
  const dir = entry.name.includes('/') ? entry.name.slice(0, entry.name.lastIndexOf('/') + 1) : ''
  const paxHeader = ustarBlock({
    ...splitOrTruncate(`${dir}PaxHeaders.0/${base}`), linkname: '', mode: 0o644, uid: 0, gid: 0,
    size: body.length, mtime, typeflag: 'x', devmajor: 0, devminor: 0,
  })
  return Buffer.concat([paxHeader, body, tarPadding(body.length), header])
}

/** `"<len> key=value\n"` records, where len counts the whole record including its own digits. */
export function encodePaxRecords (records: ReadonlyArray<readonly [string, Buffer]>): Buffer {
  const parts: Buffer[] = []
  for (const [key, value] of records) {
    if (key.includes('=')) throw new Error(`PAX key ${JSON.stringify(key)} contains '='`)
    const rest = Buffer.byteLength(key) + value.length + 3 // ' ', '=', '\n'
    let len = rest + 1
    while (String(len).length + rest !== len) len = String(len).length + rest
    parts.push(Buffer.from(`${len} ${key}=`), value, Buffer.from('\n'))
  }
  return Buffer.concat(parts)
}

interface UstarFields {
  name: string; prefix: string; linkname: string; mode: number; uid: number; gid: number
  size: number; mtime: number; typeflag: string; devmajor: number; devminor: number
}

function ustarBlock (f: UstarFields): Buffer {
  const b = Buffer.alloc(BLOCK)
  Buffer.from(f.name).copy(b, 0, 0, 100)
  writeOctal(b, f.mode, 100, 8)
  writeOctal(b, f.uid, 108, 8)
  writeOctal(b, f.gid, 116, 8)
  writeOctal(b, f.size, 124, 12)
  writeOctal(b, f.mtime, 136, 12)
  b.write(f.typeflag, 156, 1)
  Buffer.from(f.linkname).copy(b, 157, 0, 100)
  b.write('ustar\u000000', 257, 8, 'latin1')
  writeOctal(b, f.devmajor, 329, 8)
  writeOctal(b, f.devminor, 337, 8)
  Buffer.from(f.prefix).copy(b, 345, 0, 155)
  b.fill(0x20, 148, 156)
  let sum = 0
  for (const byte of b) sum += byte
  b.write(sum.toString(8).padStart(6, '0') + '\u0000 ', 148, 8, 'latin1')
  return b
}

function writeOctal (b: Buffer, value: number, offset: number, width: number): void {
  b.write(value.toString(8).padStart(width - 1, '0') + '\u0000', offset, width, 'latin1')
}

/** ustar keeps names up to 100 bytes, or 255 when split at a slash into prefix (≤155) + name. */
function splitUstarName (name: string): { name: string; prefix: string } | undefined {
  if (!isAscii(name)) return undefined
  if (name.length <= 100) return { name, prefix: '' }
  const trailing = name.endsWith('/') ? 1 : 0
  for (let i = name.length - trailing - 1; i > 0; i--) {
    if (name[i] !== '/') continue
    if (i > 155) continue
    if (name.length - i - 1 > 100) return undefined
    return { prefix: name.slice(0, i), name: name.slice(i + 1) }
  }
  return undefined
}

/** For names that only a PAX record can carry, the ustar field keeps what fits (readers use the record). */
function splitOrTruncate (name: string): { name: string; prefix: string } {
  return splitUstarName(name) ?? { name, prefix: '' }
}

function isAscii (s: string): boolean {
  return /^[\x01-\x7f]*$/.test(s)
}
