/**
 * `--add-host`, `--shm-size` and `--ulimit`: settings every RUN of a build
 * gets, spelled as docker and buildx take them.
 */
import { isIP } from 'node:net'
import { TsbuildError } from '../../common/errors.js'
import type { NetworkMode } from '../../engine/request.js'
import { ULIMIT_NAMES, type HostIp, type Ulimit, type UlimitName } from '../../llb/index.js'

/**
 * The address a RUN step reaches the host at. tsbuild's `default` network
 * is the host's own network namespace (BuildKit's OCI worker without CNI),
 * so the host is the loopback address there.
 */
export const HOST_GATEWAY_IP = '127.0.0.1'

/**
 * `--add-host HOST:IP` or `HOST=IP` (as buildx: `=` is looked for first, so
 * `db=::1` and `db:::1` both work). The IP may be in brackets (`[::1]`),
 * several may be given comma-separated (`db=10.0.0.2,::2`, one entry each),
 * and `host-gateway` stands for the host ({@link HOST_GATEWAY_IP}).
 */
export function parseAddHost (value: string, network: NetworkMode): HostIp[] {
  const fail = (why: string): never => {
    throw new TsbuildError('USAGE', `invalid --add-host ${JSON.stringify(value)}: ${why}`, { hint: 'expected HOST:IP or HOST=IP, e.g. --add-host db:10.0.0.2 or --add-host db=[::1]' })
  }
  let sep = value.indexOf('=')
  if (sep === -1) sep = value.indexOf(':')
  if (sep === -1) return fail('no IP address')
  const host = value.slice(0, sep)
  const ips = value.slice(sep + 1)
  if (host === '') fail('no host name')
  // One line of /etc/hosts per entry: a blank or a # would make it another line's worth.
  if (/[\s#]/.test(host)) fail(`${JSON.stringify(host)} is not a host name`)
  if (ips === '') fail('no IP address')
  if (ips === 'host-gateway') {
    if (network === 'none') fail('host-gateway needs a network that reaches the host, and --network=none has none')
    return [{ host, ip: HOST_GATEWAY_IP }]
  }
  return ips.split(',').map((raw) => {
    const ip = raw.length > 2 && raw.startsWith('[') && raw.endsWith(']') ? raw.slice(1, -1) : raw
    if (isIP(ip) === 0) fail(`${JSON.stringify(raw)} is not an IP address`)
    return { host, ip }
  })
}

const SIZE_UNITS: Readonly<Record<string, number>> = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 }

/**
 * `--shm-size` in bytes, read as docker's RAMInBytes reads it: a decimal
 * number, an optional space, then b, or k/m/g/t/p (powers of 1024, any
 * case) optionally followed by b or ib. `-1` and 0 mean the default (0).
 */
export function parseShmSize (value: string): number {
  const fail = (why: string): never => {
    throw new TsbuildError('USAGE', `invalid --shm-size ${JSON.stringify(value)}: ${why}`, { hint: 'e.g. --shm-size 128m, 2g, 512MiB or a number of bytes' })
  }
  if (value === '-1') return 0
  const m = /^(\d+(?:\.\d*)?|\.\d+)(?:e([+-]?\d+))? ?([a-z]{0,3})$/i.exec(value)
  if (m === null) return fail('not a size')
  let size = Number(`${m[1]}${m[2] !== undefined ? `e${m[2]}` : ''}`)
  const suffix = m[3]!.toLowerCase()
  if (suffix !== '' && suffix !== 'b') {
    const unit = SIZE_UNITS[suffix[0]!]
    if (unit === undefined || (suffix.length === 2 && suffix[1] !== 'b') || (suffix.length === 3 && suffix.slice(1) !== 'ib')) {
      return fail(`unknown unit ${JSON.stringify(m[3])} (use b, k, m, g, t or p, optionally with b or ib)`)
    }
    size *= unit
  }
  size = Math.floor(size)
  if (!Number.isSafeInteger(size)) fail('too large')
  return size
}

/**
 * `--ulimit NAME=SOFT[:HARD]` as docker's ParseUlimit takes it: a name it
 * knows, the hard limit the soft one when absent, -1 for unlimited, soft
 * never above hard. Other negative numbers are refused (runc would read
 * them as huge limits).
 */
export function parseUlimit (value: string): Ulimit {
  const fail = (why: string): never => {
    throw new TsbuildError('USAGE', `invalid --ulimit ${JSON.stringify(value)}: ${why}`, { hint: 'expected NAME=SOFT[:HARD], e.g. --ulimit nofile=1024:2048 (-1 is unlimited)' })
  }
  const eq = value.indexOf('=')
  if (eq === -1) return fail('expected NAME=SOFT[:HARD]')
  const name = value.slice(0, eq)
  if (!(ULIMIT_NAMES as readonly string[]).includes(name)) fail(`unknown limit ${JSON.stringify(name)} (one of: ${ULIMIT_NAMES.join(', ')})`)
  const limits = value.slice(eq + 1).split(':')
  if (limits.length > 2) fail('too many values, expected SOFT[:HARD]')
  const [soft, hard] = limits.map((s) => {
    if (!/^[+-]?\d+$/.test(s)) return fail(`${JSON.stringify(s)} is not a whole number`)
    const n = Number(s)
    if (!Number.isSafeInteger(n)) return fail(`${s} is too large`)
    if (n < -1) return fail(`${s} is negative (use -1 for unlimited)`)
    return n
  }) as [number, number | undefined]
  const h = hard ?? soft
  if (h !== -1 && (soft === -1 || soft > h)) fail(`the soft limit ${soft === -1 ? 'unlimited' : soft} is above the hard limit ${h}`)
  return { name: name as UlimitName, soft, hard: h }
}

/** Several `--ulimit`s: one per name, a later one replacing an earlier (docker keeps them by name). */
export function parseUlimits (values: readonly string[]): Ulimit[] {
  const byName = new Map<string, Ulimit>()
  for (const v of values) {
    const u = parseUlimit(v)
    byName.set(u.name, u)
  }
  return [...byName.values()]
}
