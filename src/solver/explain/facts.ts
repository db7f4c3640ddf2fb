import type { Op } from '../../llb/index.js'

/**
 * What one step's cache key was made of in one build: the fact sheet a later
 * build compares against to say why it missed. No secret values: secret env
 * and mounts are not in the op's env, and files are described by digest.
 */
export interface StepFacts {
  /** Stable across builds: `[platform stage N]` from the step's name, or the whole name. */
  step: string
  name: string
  key: string
  /** Definition digest of the op (normalised, as its cache map reports it). */
  op: string
  /** Per input: its cache key, or the content checksum of what the step reads from it. */
  inputs: string[]
  /** Names of the input steps, for "parent step re-ran" messages. */
  inputNames: string[]
  /** Named facts: `image`, `cmd`, `env:NAME`, `files:<src>` and `mounted:<src>` (JSON listings), `--ulimit`, `--add-host`, `--shm-size`, and what ops report. */
  facts: Record<string, string>
  /** The step started but never finished (it failed or the build was cancelled): it left no record. */
  incomplete?: boolean
}

/** The `[linux/amd64 build 3/5]` prefix without the step count, so adding a step keeps the others' identity. */
export function stepIdentity (name: string): string {
  const m = /^\[([^\]]*?)(\d+)\/\d+\]/.exec(name)
  if (m !== null) return `[${m[1]}${m[2]}]`
  return name
}

/** Facts read from the op definition itself: the command and environment of a RUN. */
export function opFacts (op: Op | undefined, name: string): Record<string, string> {
  const out: Record<string, string> = { cmd: name.replace(/^\[[^\]]*\]\s*/, '') }
  if (op?.kind === 'exec') {
    for (const e of op.meta.env) {
      const eq = e.indexOf('=')
      out[`env:${eq === -1 ? e : e.slice(0, eq)}`] = eq === -1 ? '' : e.slice(eq + 1)
    }
    // The build's flags that reach every RUN without changing its text, named as the command line spells them.
    const ulimits = op.meta.ulimits ?? []
    if (ulimits.length > 0) out['--ulimit'] = ulimits.map((u) => `${u.name}=${u.soft}:${u.hard}`).sort().join(' ')
    // Host names only: the IPs are not part of the cache key, so they never explain a miss.
    if (op.meta.extraHosts.length > 0) out['--add-host'] = op.meta.extraHosts.map((h) => h.host).join(' ')
    const shm = op.mounts.find((m) => m.type === 'tmpfs' && m.dest === '/dev/shm')
    if (shm?.type === 'tmpfs' && shm.size !== undefined) out['--shm-size'] = String(shm.size)
  }
  return out
}
