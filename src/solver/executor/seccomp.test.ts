import { describe, expect, test } from 'vitest'
import { CLONE_NAMESPACE_FLAGS, defaultSeccompProfile, type SeccompProfile, type SeccompRule } from './seccomp.js'
import { ALL_CAPABILITIES, DEFAULT_CAPABILITIES, generateSpec, insecureCapabilities } from './spec.js'

const sandbox = defaultSeccompProfile(DEFAULT_CAPABILITIES, 'x64')

/** Names allowed whatever their arguments. */
function unconditional (p: SeccompProfile): Set<string> {
  return new Set(p.syscalls.filter((r) => r.action === 'SCMP_ACT_ALLOW' && r.args === undefined).flatMap((r) => r.names))
}

function rulesFor (p: SeccompProfile, name: string): SeccompRule[] {
  return p.syscalls.filter((r) => r.names.includes(name))
}

describe('defaultSeccompProfile', () => {
  test('denies by default with EPERM', () => {
    expect(sandbox.defaultAction).toBe('SCMP_ACT_ERRNO')
    expect(sandbox.defaultErrnoRet).toBe(1)
  })

  test.each([
    ['x64', ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']],
    ['arm64', ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']],
    ['arm', ['SCMP_ARCH_ARM']],
    // runc always adds the native architecture itself.
    ['riscv64', []],
  ] as const)('architectures on a %s host', (arch, expected) => {
    expect(defaultSeccompProfile(DEFAULT_CAPABILITIES, arch).architectures).toEqual(expected)
  })

  test.each(['read', 'openat', 'execve', 'fork', 'wait4', 'mmap', 'futex', 'connect', 'getrandom', 'statx', 'chroot', 'rt_sigaction', 'arch_prctl'])(
    'a sandboxed step may call %s', (name) => {
      expect(unconditional(sandbox)).toContain(name)
    })

  test.each([
    'mount', 'umount2', 'unshare', 'setns', 'pivot_root', 'ptrace', 'bpf', 'perf_event_open', 'keyctl', 'add_key', 'userfaultfd',
    'io_uring_setup', 'kexec_load', 'init_module', 'reboot', 'swapon', 'swapoff', 'clock_settime', 'open_by_handle_at', 'sethostname',
  ])('a sandboxed step may not call %s', (name) => {
    expect(unconditional(sandbox)).not.toContain(name)
    expect(rulesFor(sandbox, name).filter((r) => r.action === 'SCMP_ACT_ALLOW')).toEqual([])
  })

  test('clone is allowed only without namespace flags, and clone3 falls back to clone with ENOSYS', () => {
    expect(rulesFor(sandbox, 'clone')).toEqual([
      { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] },
    ])
    // CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET are all in the mask.
    for (const flag of [0x00020000, 0x10000000, 0x40000000]) expect(CLONE_NAMESPACE_FLAGS & flag).toBe(flag)
    // Thread and fork flags are not: CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD.
    expect(CLONE_NAMESPACE_FLAGS & 0x00010f00).toBe(0)
    expect(rulesFor(sandbox, 'clone3')).toEqual([{ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }])
  })

  test('personality is allowed only with the usual values', () => {
    const values = rulesFor(sandbox, 'personality').map((r) => {
      expect(r.args).toHaveLength(1)
      expect(r.args![0]).toMatchObject({ index: 0, op: 'SCMP_CMP_EQ' })
      return r.args![0]!.value
    })
    expect(values.sort((a, b) => a - b)).toEqual([0, 8, 0x20000, 0x20008, 0xffffffff])
  })

  test('socket is allowed for every family but AF_VSOCK', () => {
    expect(rulesFor(sandbox, 'socket')).toEqual([{ names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 40, op: 'SCMP_CMP_NE' }] }])
  })

  test('capabilities unlock their syscalls: CAP_SYS_ADMIN gives mount, unshare and any clone', () => {
    const admin = defaultSeccompProfile([...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN', 'CAP_SYS_PTRACE'], 'x64')
    for (const name of ['mount', 'unshare', 'setns', 'clone', 'clone3', 'ptrace', 'process_vm_readv']) expect(unconditional(admin)).toContain(name)
    expect(rulesFor(admin, 'clone3').filter((r) => r.action === 'SCMP_ACT_ERRNO')).toEqual([])
    expect(unconditional(admin)).not.toContain('reboot')
  })

  test.each([
    ['x64', 'arch_prctl', 'set_tls'],
    ['arm64', 'set_tls', 'arch_prctl'],
  ] as const)('on %s, %s is allowed and %s is not listed', (arch, allowed, absent) => {
    const names = unconditional(defaultSeccompProfile(DEFAULT_CAPABILITIES, arch))
    expect(names).toContain(allowed)
    expect(names).not.toContain(absent)
  })

  test('every name appears once and looks like a syscall name', () => {
    const all = defaultSeccompProfile(ALL_CAPABILITIES, 'x64').syscalls.find((r) => r.args === undefined && r.action === 'SCMP_ACT_ALLOW')!.names
    expect(new Set(all).size).toBe(all.length)
    for (const name of all) expect(name).toMatch(/^_?[a-z][a-z0-9_]*$/)
  })
})

describe('generateSpec seccomp', () => {
  const base = {
    args: ['true'], env: [], cwd: '/', user: { uid: 0, gid: 0, additionalGids: [] }, hostname: 'h', network: 'host' as const, mounts: [],
  }

  test('a sandboxed step gets the default profile; an insecure one gets none', () => {
    const linux = (security: 'sandbox' | 'insecure'): Record<string, unknown> => generateSpec({ ...base, security }).linux as Record<string, unknown>
    expect(linux('sandbox').seccomp).toEqual(defaultSeccompProfile(DEFAULT_CAPABILITIES))
    expect(linux('insecure')).not.toHaveProperty('seccomp')
  })

  test('an insecure step gets only the capabilities this process has', () => {
    // Every bit but 24 (CAP_SYS_RESOURCE), as in a sandbox that dropped it.
    const status = 'Name:\tnode\nCapInh:\t0000000000000000\nCapEff:\t000001fffeffffff\nCapBnd:\t000001fffeffffff\n'
    const caps = insecureCapabilities(status)
    expect(caps).not.toContain('CAP_SYS_RESOURCE')
    expect(caps).toHaveLength(ALL_CAPABILITIES.length - 1)
    expect(caps).toContain('CAP_CHECKPOINT_RESTORE')
    expect(insecureCapabilities('Name:\tnode\n')).toEqual([...ALL_CAPABILITIES])
  })
})
