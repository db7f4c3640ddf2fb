/**
 * `RUN --mount=type=…,key=value,…` with BuildKit's keys, aliases, defaults and
 * checks (instructions/commands_runmount.go): bind/secret/ssh are read-only by
 * default, cache/tmpfs writable; mode/uid/gid only for cache, secret and ssh.
 */
import { InstructionSyntaxError } from './flags.js'
import { didYouMean } from './suggest.js'
import type { CacheSharing, MountType, RunMount } from './types.js'

const mountTypes: readonly MountType[] = ['bind', 'cache', 'tmpfs', 'secret', 'ssh']
const sharingModes: readonly CacheSharing[] = ['shared', 'private', 'locked']
const allKeys = ['type', 'from', 'source', 'target', 'readonly', 'id', 'sharing', 'required', 'size', 'mode', 'uid', 'gid',
  'src', 'dst', 'destination', 'ro', 'rw', 'readwrite', 'env', 'key-from']

/** Comma-separated fields; a field may be double-quoted, with `""` for a literal quote. */
export function splitCsv (text: string): string[] {
  const fields: string[] = []
  let field = ''
  let inQuotes = false
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!
    if (inQuotes) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i++ } else if (ch === '"') inQuotes = false
      else field += ch
    } else if (ch === '"' && field === '') inQuotes = true
    else if (ch === ',') { fields.push(field); field = '' } else field += ch
  }
  if (inQuotes) throw new InstructionSyntaxError(`failed to parse csv mounts: unterminated quote in ${text}`)
  fields.push(field)
  return fields
}

const bad = (message: string): InstructionSyntaxError => new InstructionSyntaxError(message)

function parseBool (key: string, value: string): boolean {
  const v = value.toLowerCase()
  if (v === 'true' || v === '1' || v === 't') return true
  if (v === 'false' || v === '0' || v === 'f') return false
  throw bad(`invalid value for ${key}: ${value}`)
}

function parseUint (key: string, value: string, radix: 8 | 10): number {
  const ok = radix === 8 ? /^[0-7]+$/.test(value) : /^[0-9]+$/.test(value)
  const n = ok ? Number.parseInt(value, radix) : NaN
  if (!Number.isSafeInteger(n) || n > 0xffffffff) throw bad(`invalid value ${value} for ${key}`)
  return n
}

const ramUnits: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 }

/** go-units RAMInBytes: `64m`, `1.5GiB`, `1024`. */
export function parseRamBytes (value: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?) ?([kmgtp]?)i?b?$/i.exec(value)
  if (m === null) return undefined
  return Math.floor(Number(m[1]) * ramUnits[m[2]!.toLowerCase()]!)
}

/**
 * Parse one `--mount` value. Without `expand`, values holding `$` are left out
 * (conversion re-parses with an expander); with it, every value is expanded first.
 */
export function parseRunMount (spec: string, expand?: (word: string) => string): RunMount {
  const m: RunMount = { type: 'bind', readOnly: true }
  let isReadOnlyAuto = true
  let hasDeferred = false
  for (const field of splitCsv(spec)) {
    const eq = field.indexOf('=')
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase()
    if (eq < 0) {
      if (key === 'readonly' || key === 'ro') { m.readOnly = true; isReadOnlyAuto = false } else if (key === 'readwrite' || key === 'rw') { m.readOnly = false; isReadOnlyAuto = false } else if (key === 'required') {
        if (m.type !== 'secret' && m.type !== 'ssh') throw bad(`unexpected key '${key}' for mount type '${m.type}'`)
        m.required = true
      } else throw bad(`invalid field '${field}' must be a key=value pair`)
      continue
    }
    let value = field.slice(eq + 1)
    if (key === 'from' && value.includes('$') && value.indexOf('$') !== value.length - 1) {
      throw bad(`'from' doesn't support variable expansion, define alias stage instead`)
    }
    if (expand !== undefined) value = expand(value)
    else if (value.includes('$') && key !== 'from') { hasDeferred = true; continue }
    switch (key) {
      case 'type': {
        const t = value.toLowerCase() as MountType
        if (!mountTypes.includes(t)) throw bad(`unsupported mount type "${value}"${didYouMean(value, mountTypes)}`)
        m.type = t
        break
      }
      case 'from': m.from = value; break
      case 'source': case 'src': m.source = value; break
      case 'target': case 'dst': case 'destination': m.target = value; break
      case 'readonly': case 'ro': m.readOnly = parseBool(key, value); isReadOnlyAuto = false; break
      case 'readwrite': case 'rw': m.readOnly = !parseBool(key, value); isReadOnlyAuto = false; break
      case 'required':
        if (m.type !== 'secret' && m.type !== 'ssh') throw bad(`unexpected key '${key}' for mount type '${m.type}'`)
        m.required = parseBool(key, value)
        break
      case 'size': {
        if (m.type !== 'tmpfs') throw bad(`unexpected key '${key}' for mount type '${m.type}'`)
        const size = parseRamBytes(value)
        if (size === undefined) throw bad(`invalid value for ${key}: ${value}`)
        m.sizeLimit = size
        break
      }
      case 'id': m.id = value; break
      case 'sharing': {
        const s = value.toLowerCase() as CacheSharing
        if (!sharingModes.includes(s)) throw bad(`unsupported sharing value "${value}"${didYouMean(value, sharingModes)}`)
        m.sharing = s
        break
      }
      case 'mode': m.mode = parseUint('mode', value, 8); break
      case 'uid': m.uid = parseUint('uid', value, 10); break
      case 'gid': m.gid = parseUint('gid', value, 10); break
      case 'env': m.env = value; break
      case 'key-from':
        if (m.type !== 'cache') throw bad(`unexpected key '${key}' for mount type '${m.type}'`)
        if (value === '') throw bad('key-from needs a context path')
        m.keyFrom = [...(m.keyFrom ?? []), value]
        break
      default: throw bad(`unexpected key '${key}' in '${field}'${didYouMean(key, allKeys)}`)
    }
  }
  const isFileInfoAllowed = m.type === 'secret' || m.type === 'ssh' || m.type === 'cache'
  if (!isFileInfoAllowed) {
    for (const k of ['mode', 'uid', 'gid'] as const) if (m[k] !== undefined) throw bad(`${k} not allowed for "${m.type}" type mounts`)
  }
  if (isReadOnlyAuto) m.readOnly = !(m.type === 'cache' || m.type === 'tmpfs')
  if (m.type === 'secret' && !hasDeferred) {
    if (m.from !== undefined) throw bad('secret mount should not have a from')
    if (m.sharing !== undefined) throw bad('secret mount should not define sharing')
    if (m.source === undefined && m.target === undefined && m.id === undefined) throw bad('invalid secret mount. one of source, target required')
    if (m.source !== undefined && m.id !== undefined) throw bad("both source and id can't be set")
  }
  if (m.sharing !== undefined && m.type !== 'cache') throw bad(`invalid cache sharing set for ${m.type} mount`)
  return m
}
