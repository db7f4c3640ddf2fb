import { sha256 } from '../../common/digest.js'
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
  /** Named facts: `image`, `cmd`, `env:NAME`, `files:<src>` and `mounted:<src>` (JSON listings), `heredoc:<path>` (content digest), `--ulimit`, `--add-host`, `--shm-size`, and what ops report. */
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
  return { ...out, ...inlineDocumentFacts(op) }
}

/**
 * A heredoc's document (`COPY <<EOF`, `RUN <<EOF`) is written by a step of
 * its own that only creates files: `heredoc:<path>` is the digest of each
 * one's content, so the step that reads it can say the heredoc changed
 * rather than that a parent re-ran. Digests only, never the text.
 */
export function inlineDocumentFacts (op: Op | undefined): Record<string, string> {
  if (op?.kind !== 'file' || op.actions.length === 0) return {}
  const out: Record<string, string> = {}
  for (const a of op.actions) {
    if (a.action.type !== 'mkfile') return {}
    out[`heredoc:${a.action.path}`] = sha256(`${a.action.dataEncoding}:${a.action.data}`).slice('sha256:'.length, 'sha256:'.length + 16)
  }
  return out
}

/** `COPY`, `ADD`, `RUN`, `FROM`: the instruction a step's text starts with (none for internal steps). */
export function instructionOf (cmd: string | undefined): string | undefined {
  return /^([A-Z]+)\b/.exec(cmd ?? '')?.[1]
}
