// The seccomp filter for sandboxed RUN steps (the OCI runtime spec's
// `linux.seccomp`): deny by default with EPERM, allow the syscalls ordinary
// programs make, and allow the dangerous ones only when the step holds the
// capability that the kernel would check anyway. Same intent and shape as the
// default profiles of Docker and containerd, which BuildKit applies to every RUN
// that is not `--security=insecure`.
//
// Names the host's libseccomp does not know are skipped by runc (it logs them
// at debug level), so listing syscalls newer than the host is harmless: the
// process gets ENOSYS for them, which libcs treat as "not implemented here".

export type SeccompAction = 'SCMP_ACT_ALLOW' | 'SCMP_ACT_ERRNO'
export type SeccompOperator = 'SCMP_CMP_EQ' | 'SCMP_CMP_NE' | 'SCMP_CMP_MASKED_EQ'
export type SeccompArch = 'SCMP_ARCH_X86_64' | 'SCMP_ARCH_X86' | 'SCMP_ARCH_X32' | 'SCMP_ARCH_AARCH64' | 'SCMP_ARCH_ARM'

export interface SeccompArg {
  index: number
  value: number
  valueTwo?: number
  op: SeccompOperator
}

export interface SeccompRule {
  names: string[]
  action: SeccompAction
  errnoRet?: number
  /** All must match (runc ANDs them). */
  args?: SeccompArg[]
}

export interface SeccompProfile {
  defaultAction: SeccompAction
  defaultErrnoRet: number
  architectures: SeccompArch[]
  syscalls: SeccompRule[]
}

const EPERM = 1
const ENOSYS = 38

/** Syscalls every process may make, grouped by what they are for. */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  files: [
    'access', 'faccessat', 'faccessat2', 'chdir', 'fchdir', 'getcwd', 'umask',
    'chmod', 'fchmod', 'fchmodat', 'fchmodat2', 'chown', 'chown32', 'fchown', 'fchown32', 'fchownat', 'lchown', 'lchown32',
    'open', 'openat', 'openat2', 'creat', 'close', 'close_range', 'dup', 'dup2', 'dup3', 'fcntl', 'fcntl64', 'flock',
    'read', 'readv', 'pread64', 'preadv', 'preadv2', 'write', 'writev', 'pwrite64', 'pwritev', 'pwritev2',
    'lseek', '_llseek', 'readahead', 'fadvise64', 'fadvise64_64', 'fallocate',
    'truncate', 'truncate64', 'ftruncate', 'ftruncate64', 'fsync', 'fdatasync', 'sync', 'syncfs', 'sync_file_range',
    'sendfile', 'sendfile64', 'splice', 'tee', 'vmsplice', 'copy_file_range',
    'stat', 'stat64', 'lstat', 'lstat64', 'fstat', 'fstat64', 'fstatat64', 'newfstatat', 'statx',
    'statfs', 'statfs64', 'fstatfs', 'fstatfs64', 'getdents', 'getdents64',
    'mkdir', 'mkdirat', 'rmdir', 'mknod', 'mknodat', 'link', 'linkat', 'symlink', 'symlinkat', 'readlink', 'readlinkat',
    'unlink', 'unlinkat', 'rename', 'renameat', 'renameat2', 'utime', 'utimes', 'utimensat', 'utimensat_time64', 'futimesat',
    'getxattr', 'lgetxattr', 'fgetxattr', 'getxattrat', 'listxattr', 'llistxattr', 'flistxattr', 'listxattrat',
    'setxattr', 'lsetxattr', 'fsetxattr', 'setxattrat', 'removexattr', 'lremovexattr', 'fremovexattr', 'removexattrat',
    'ioctl', 'memfd_create', 'inotify_init', 'inotify_init1', 'inotify_add_watch', 'inotify_rm_watch', 'fanotify_mark',
    'landlock_create_ruleset', 'landlock_add_rule', 'landlock_restrict_self',
  ],
  waiting: [
    'select', '_newselect', 'pselect6', 'pselect6_time64', 'poll', 'ppoll', 'ppoll_time64',
    'epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_ctl_old', 'epoll_wait', 'epoll_wait_old', 'epoll_pwait', 'epoll_pwait2',
    'eventfd', 'eventfd2', 'signalfd', 'signalfd4', 'pipe', 'pipe2',
    'timerfd_create', 'timerfd_settime', 'timerfd_settime64', 'timerfd_gettime', 'timerfd_gettime64',
    'io_setup', 'io_destroy', 'io_submit', 'io_cancel', 'io_getevents', 'io_pgetevents', 'io_pgetevents_time64',
    'futex', 'futex_time64', 'futex_waitv', 'futex_wait', 'futex_wake', 'futex_requeue',
  ],
  memory: [
    'brk', 'mmap', 'mmap2', 'munmap', 'mremap', 'mprotect', 'madvise', 'mincore', 'msync', 'remap_file_pages', 'mseal',
    'mlock', 'mlock2', 'mlockall', 'munlock', 'munlockall', 'pkey_alloc', 'pkey_free', 'pkey_mprotect',
    'membarrier', 'cachestat', 'map_shadow_stack',
  ],
  processes: [
    'execve', 'execveat', 'fork', 'vfork', 'exit', 'exit_group', 'wait4', 'waitid', 'waitpid', 'restart_syscall',
    'set_tid_address', 'set_robust_list', 'get_robust_list', 'rseq', 'prctl', 'seccomp', 'capget', 'capset',
    'getpid', 'getppid', 'gettid', 'getpgid', 'setpgid', 'getpgrp', 'getsid', 'setsid',
    'getuid', 'getuid32', 'geteuid', 'geteuid32', 'getgid', 'getgid32', 'getegid', 'getegid32',
    'getresuid', 'getresuid32', 'getresgid', 'getresgid32', 'getgroups', 'getgroups32',
    'setuid', 'setuid32', 'setgid', 'setgid32', 'setreuid', 'setreuid32', 'setregid', 'setregid32',
    'setresuid', 'setresuid32', 'setresgid', 'setresgid32', 'setgroups', 'setgroups32',
    'setfsuid', 'setfsuid32', 'setfsgid', 'setfsgid32',
    'sched_yield', 'sched_getaffinity', 'sched_setaffinity', 'sched_getparam', 'sched_setparam',
    'sched_getscheduler', 'sched_setscheduler', 'sched_get_priority_max', 'sched_get_priority_min',
    'sched_rr_get_interval', 'sched_rr_get_interval_time64', 'sched_getattr', 'sched_setattr',
    'getpriority', 'setpriority', 'ioprio_get', 'ioprio_set', 'getrlimit', 'ugetrlimit', 'setrlimit', 'prlimit64',
    'getrusage', 'times', 'uname', 'sysinfo', 'getcpu', 'getrandom', 'set_thread_area', 'get_thread_area',
    'pidfd_open', 'pidfd_send_signal',
  ],
  signals: [
    'kill', 'tkill', 'tgkill', 'pause', 'alarm', 'sigaltstack', 'signal', 'sigaction', 'sigprocmask', 'sigreturn',
    'sigsuspend', 'sigpending', 'rt_sigaction', 'rt_sigprocmask', 'rt_sigreturn', 'rt_sigsuspend', 'rt_sigpending',
    'rt_sigtimedwait', 'rt_sigtimedwait_time64', 'rt_sigqueueinfo', 'rt_tgsigqueueinfo',
  ],
  time: [
    'time', 'gettimeofday', 'clock_gettime', 'clock_gettime64', 'clock_getres', 'clock_getres_time64',
    'nanosleep', 'clock_nanosleep', 'clock_nanosleep_time64', 'getitimer', 'setitimer',
    'timer_create', 'timer_delete', 'timer_getoverrun', 'timer_gettime', 'timer_gettime64', 'timer_settime', 'timer_settime64',
    // Reading the clock state; changing it is checked against CAP_SYS_TIME by the kernel.
    'adjtimex', 'clock_adjtime', 'clock_adjtime64',
  ],
  network: [
    // socket itself is conditional (see below); socketcall is how 32-bit x86 multiplexes all of these.
    'socketpair', 'socketcall', 'bind', 'connect', 'listen', 'accept', 'accept4', 'shutdown',
    'getsockname', 'getpeername', 'getsockopt', 'setsockopt',
    'send', 'sendto', 'sendmsg', 'sendmmsg', 'recv', 'recvfrom', 'recvmsg', 'recvmmsg', 'recvmmsg_time64',
  ],
  ipc: [
    'ipc', 'msgget', 'msgctl', 'msgsnd', 'msgrcv', 'semget', 'semctl', 'semop', 'semtimedop', 'semtimedop_time64',
    'shmget', 'shmctl', 'shmat', 'shmdt', 'mq_open', 'mq_unlink', 'mq_notify', 'mq_getsetattr',
    'mq_timedsend', 'mq_timedsend_time64', 'mq_timedreceive', 'mq_timedreceive_time64',
  ],
}

/** Syscalls that exist only on some architectures, allowed on hosts of that family. */
const ALLOWED_BY_HOST_ARCH: Readonly<Partial<Record<NodeJS.Architecture, readonly string[]>>> = {
  x64: ['arch_prctl', 'modify_ldt'],
  ia32: ['modify_ldt'],
  arm64: ['arm_fadvise64_64', 'arm_sync_file_range', 'sync_file_range2', 'breakpoint', 'cacheflush', 'set_tls'],
  arm: ['arm_fadvise64_64', 'arm_sync_file_range', 'sync_file_range2', 'breakpoint', 'cacheflush', 'set_tls'],
}

/**
 * Syscalls allowed only to a step holding the capability. Without it the
 * kernel would refuse most of them too; the filter also closes the paths where
 * a kernel bug or a user namespace would not.
 */
const ALLOWED_WITH_CAPABILITY: Readonly<Record<string, readonly string[]>> = {
  CAP_SYS_ADMIN: [
    'mount', 'umount', 'umount2', 'mount_setattr', 'move_mount', 'open_tree', 'fsopen', 'fsconfig', 'fsmount', 'fspick',
    'pivot_root', 'unshare', 'setns', 'clone', 'clone3', 'sethostname', 'setdomainname', 'quotactl', 'quotactl_fd',
    'name_to_handle_at', 'lookup_dcookie', 'fanotify_init', 'bpf', 'perf_event_open', 'syslog',
  ],
  CAP_SYS_BOOT: ['reboot'],
  CAP_SYS_CHROOT: ['chroot'],
  CAP_SYS_MODULE: ['init_module', 'finit_module', 'delete_module'],
  CAP_SYS_PACCT: ['acct'],
  CAP_SYS_PTRACE: ['ptrace', 'kcmp', 'pidfd_getfd', 'process_madvise', 'process_vm_readv', 'process_vm_writev'],
  CAP_SYS_RAWIO: ['iopl', 'ioperm'],
  CAP_SYS_TIME: ['settimeofday', 'stime', 'clock_settime', 'clock_settime64'],
  CAP_SYS_TTY_CONFIG: ['vhangup'],
  CAP_SYS_NICE: ['get_mempolicy', 'set_mempolicy', 'set_mempolicy_home_node', 'mbind', 'migrate_pages', 'move_pages'],
  CAP_DAC_READ_SEARCH: ['open_by_handle_at'],
  CAP_SYSLOG: ['syslog'],
  CAP_BPF: ['bpf'],
  CAP_PERFMON: ['perf_event_open'],
}

/** Filter architectures per host: the native ABI plus the compat ABIs its kernel also runs. */
const ARCHITECTURES: Readonly<Partial<Record<NodeJS.Architecture, readonly SeccompArch[]>>> = {
  x64: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  ia32: ['SCMP_ARCH_X86'],
  arm64: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
  arm: ['SCMP_ARCH_ARM'],
}

/** personality(2) values programs set routinely: Linux, 32-bit uname, UNAME26, and the query value. */
const PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff]

/** Every CLONE_NEW* flag: creating namespaces needs CAP_SYS_ADMIN. */
export const CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000

const AF_VSOCK = 40

/**
 * The default profile for a step whose process holds `capabilities` (the
 * spec's bounding set), for a kernel of host architecture `arch`. A
 * foreign-platform step (qemu-user) makes host syscalls, so the host's
 * architecture is the one that matters.
 */
export function defaultSeccompProfile (capabilities: readonly string[], arch: NodeJS.Architecture = process.arch): SeccompProfile {
  const caps = new Set(capabilities)
  const allowed = [...Object.values(ALLOWED).flat(), ...ALLOWED_BY_HOST_ARCH[arch] ?? []]
  for (const [cap, names] of Object.entries(ALLOWED_WITH_CAPABILITY)) if (caps.has(cap)) allowed.push(...names)
  const syscalls: SeccompRule[] = [
    { names: [...new Set(allowed)].sort(), action: 'SCMP_ACT_ALLOW' },
    ...PERSONALITIES.map((value): SeccompRule => ({ names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value, op: 'SCMP_CMP_EQ' }] })),
    // vsock reaches the hypervisor host directly, around the sandbox's network namespace.
    { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: AF_VSOCK, op: 'SCMP_CMP_NE' }] },
  ]
  if (!caps.has('CAP_SYS_ADMIN')) {
    syscalls.push(
      // fork and threads, but no new namespaces (CLONE_NEWUSER needs no capability otherwise).
      { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] },
      // clone3 passes its flags in memory the filter cannot read; ENOSYS makes libcs fall back to clone.
      { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS },
    )
  }
  return { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: EPERM, architectures: [...ARCHITECTURES[arch] ?? []], syscalls }
}
