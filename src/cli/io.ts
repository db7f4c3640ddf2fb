import type { Readable, Writable } from 'node:stream'

/** Where a command reads and writes; tests pass their own streams. */
export interface CommandIo {
  stdin: Readable
  stdout: Writable & { isTTY?: boolean; columns?: number }
  stderr: Writable & { isTTY?: boolean; columns?: number }
  env: NodeJS.ProcessEnv
  cwd: string
  /** Fires on SIGINT/SIGTERM. */
  signal?: AbortSignal
}

export function defaultIo (): CommandIo {
  const ac = new AbortController()
  let interrupts = 0
  // The first signal cancels the command and lets it clean up (containers,
  // mounts, the history record); a second one ends the process at once, even
  // while its output waits for a reader that is not reading.
  const onSignal = (sig: NodeJS.Signals): void => {
    interrupts++
    if (interrupts > 1) process.exit(sig === 'SIGTERM' ? 143 : 130)
    ac.abort(new Error(`interrupted by ${sig}`))
  }
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal)
  return {
    // A getter: the first touch of process.stdin sets up a stream (several ms), and most commands never read it.
    get stdin () { return process.stdin },
    stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), signal: ac.signal,
  }
}
