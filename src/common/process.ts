/**
 * Whether a process with this pid exists on this host (signal 0 probes
 * without signalling; EPERM still means it exists). Used to tell crashed
 * owners of locks, leases, snapshots and sandboxes from live ones.
 */
export function isProcessAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
