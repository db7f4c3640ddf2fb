import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { defaultSeccompProfile } from './seccomp.js'
import type { ExecUser } from './user.js'

/** Docker's default capability set (moby oci/caps/defaults.go). */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
] as const

/** Every capability, in bit order (CAP_CHOWN is bit 0). */
export const ALL_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW',
  'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD',
  'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
] as const

let currentCapabilities: string[] | undefined

/**
 * The capabilities of this process, which is all an insecure step can be
 * given: asking runc for one outside our bounding set fails the run (nested
 * sandboxes often drop CAP_SYS_RESOURCE, for example). containerd's
 * WithAllCurrentCapabilities does the same for BuildKit.
 */
export function insecureCapabilities (statusText?: string): string[] {
  if (statusText === undefined && currentCapabilities !== undefined) return currentCapabilities
  let text = statusText
  try { text ??= readFileSync('/proc/self/status', 'utf8') } catch { return [...ALL_CAPABILITIES] }
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(text)?.[1]
  const bits = hex === undefined ? undefined : BigInt('0x' + hex)
  const caps = bits === undefined ? [...ALL_CAPABILITIES] : ALL_CAPABILITIES.filter((_, bit) => ((bits >> BigInt(bit)) & 1n) === 1n)
  if (statusText === undefined) currentCapabilities = caps
  return caps
}

/** Paths Docker hides from containers (moby oci/defaults.go). */
export const MASKED_PATHS = [
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats',
  '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
]
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']

export interface SpecMount {
  destination: string
  type: string
  source: string
  options: string[]
}

export interface SpecOptions {
  args: readonly string[]
  env: readonly string[]
  cwd: string
  user: ExecUser
  hostname: string
  network: 'none' | 'default' | 'host'
  security: 'sandbox' | 'insecure'
  /**
   * Mounts beyond the defaults, in order (later ones stack over earlier
   * ones). One at a default's destination (a RUN's tmpfs at /dev/shm)
   * replaces that default instead of stacking on it.
   */
  mounts: readonly SpecMount[]
  /** `--ulimit`s; a name given replaces the default limit of that name (RLIMIT_NOFILE 1024). */
  ulimits?: readonly SpecUlimit[]
}

/** A resource limit by docker's name (`nofile`); -1 is unlimited. */
export interface SpecUlimit {
  name: string
  soft: number
  hard: number
}

interface Rlimit { type: string; hard: number | bigint; soft: number | bigint }

/** RLIM_INFINITY: the spec's limits are uint64, and -1 as a uint64 is this. */
const RLIM_INFINITY = (1n << 64n) - 1n

/** The process's rlimits: the default RLIMIT_NOFILE, each ulimit replacing its namesake or added after. */
function rlimits (ulimits: readonly SpecUlimit[]): Rlimit[] {
  // containerd's default; raising the hard limit above the caller's fails.
  const out: Rlimit[] = [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }]
  const toLimit = (n: number): number | bigint => n < 0 ? RLIM_INFINITY : n
  for (const u of ulimits) {
    const limit: Rlimit = { type: `RLIMIT_${u.name.toUpperCase()}`, hard: toLimit(u.hard), soft: toLimit(u.soft) }
    const at = out.findIndex((r) => r.type === limit.type)
    if (at === -1) out.push(limit)
    else out[at] = limit
  }
  return out
}

/**
 * config.json text for a spec from {@link generateSpec}. Unlimited rlimits
 * are uint64s past JavaScript's exact integers: they are written as the
 * exact decimal digits runc reads.
 */
export function formatSpec (spec: Record<string, unknown>): string {
  // A random marker, so no string the step carries (an argument, an env value) can pass for one.
  const marker = `tsbuild-uint64-${randomBytes(8).toString('hex')}:`
  const text = JSON.stringify(spec, (_k, v: unknown) => typeof v === 'bigint' ? `${marker}${v}` : v, 2)
  return text.replace(new RegExp(`"${marker}(\\d+)"`, 'g'), '$1')
}

/** The filesystems every sandbox gets, as Docker's containers do. */
function defaultMounts (security: SpecOptions['security']): SpecMount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', security === 'insecure' ? 'rw' : 'ro'] },
  ]
}

/** The OCI runtime spec (config.json) for one process, with `rootfs` as the bundle-relative root. */
export function generateSpec (opts: SpecOptions): Record<string, unknown> {
  // In the host's network namespace, CAP_NET_RAW would let a step read the
  // host's traffic (AF_PACKET, raw IP sockets): only `--network=host`, an
  // entitlement, keeps it. (Docker's containers have it in a network of their own.)
  const caps = opts.security === 'insecure'
    ? [...insecureCapabilities()]
    : DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_NET_RAW' || opts.network !== 'default')
  const namespaces: Array<{ type: string }> = [{ type: 'pid' }, { type: 'mount' }, { type: 'ipc' }, { type: 'uts' }]
  // A fresh network namespace gets only loopback (runc brings `lo` up itself).
  if (opts.network === 'none') namespaces.push({ type: 'network' })
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: opts.user.uid, gid: opts.user.gid, ...(opts.user.additionalGids.length > 0 ? { additionalGids: opts.user.additionalGids } : {}) },
      args: [...opts.args],
      env: [...opts.env],
      cwd: opts.cwd,
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      rlimits: rlimits(opts.ulimits ?? []),
      noNewPrivileges: opts.security !== 'insecure',
    },
    root: { path: 'rootfs', readonly: false },
    hostname: opts.hostname,
    mounts: [
      ...defaultMounts(opts.security).filter((d) => !opts.mounts.some((m) => m.destination === d.destination)),
      ...opts.mounts,
    ],
    linux: {
      namespaces,
      // insecure is BuildKit's: every capability, no masks, no seccomp filter.
      ...(opts.security === 'insecure' ? {} : { maskedPaths: MASKED_PATHS, readonlyPaths: READONLY_PATHS, seccomp: defaultSeccompProfile(caps) }),
    },
  }
}

/** /etc/hosts for the sandbox: loopback names plus the sandbox's own hostname. */
export function hostsFile (hostname: string, extraHosts: ReadonlyArray<{ host: string; ip: string }> = []): string {
  return [
    `127.0.0.1\tlocalhost ${hostname}`,
    '::1\tlocalhost ip6-localhost ip6-loopback',
    ...extraHosts.map((h) => `${h.ip}\t${h.host}`),
    '',
  ].join('\n')
}

/**
 * /etc/resolv.conf for the sandbox from the host's. Loopback resolvers only
 * work in the host network namespace, so without it they are dropped (and
 * public resolvers used when nothing is left), as BuildKit does.
 */
export function resolvConf (hostResolvConf: string, network: 'none' | 'default' | 'host'): string {
  const lines = hostResolvConf.split('\n')
  if (network !== 'none') return lines.join('\n')
  const kept = lines.filter((l) => !/^\s*nameserver\s+(127\.|::1\b)/.test(l))
  if (!kept.some((l) => /^\s*nameserver\s/.test(l))) kept.push('nameserver 8.8.8.8', 'nameserver 8.8.4.4')
  return kept.join('\n').trimEnd() + '\n'
}
