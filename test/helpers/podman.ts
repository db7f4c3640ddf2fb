// podman as the judge of exported images, with what this host needs: a
// private storage root, cgroupfs (no systemd session), file events (no
// journald), runc (crun fails on the hybrid cgroup layout), vfs storage and
// low explicit ulimits (runc refuses podman's defaults here with EPERM).
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface Podman {
  (...args: string[]): Promise<string>
  /** `podman run --rm` with the ulimits this host needs. */
  run: (image: string, ...cmd: string[]) => Promise<string>
  close: () => Promise<void>
}

/** A podman with its own storage under a short /tmp path; `close` removes its images and storage. */
export async function createPodman (): Promise<Podman> {
  const storage = await mkdtemp('/tmp/tsp-')
  const podman = (async (...args: string[]): Promise<string> => {
    const { stdout } = await run('podman', [
      '--root', join(storage, 'r'), '--runroot', join(storage, 'rr'), '--storage-driver', 'vfs',
      '--cgroup-manager=cgroupfs', '--events-backend=file', '--runtime', 'runc', ...args,
    ], { maxBuffer: 16 << 20 })
    return stdout
  }) as Podman
  podman.run = async (image, ...cmd) => await podman('run', '--rm', '--net=none', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024', image, ...cmd)
  podman.close = async () => {
    await podman('rmi', '--all', '--force').catch(() => {})
    await rm(storage, { recursive: true, force: true }).catch(() => {})
  }
  return podman
}
