import { stat } from 'node:fs/promises'
import { describeFsError } from '../common/ensureDir.js'
import { TsbuildError } from '../common/errors.js'
import type { SecretSpec, SshSpec } from '../engine/request.js'

/**
 * Every `--secret` file must be there before the build starts, as BuildKit's
 * secret store checks them when the build begins: a missing file fails at
 * once, not when a step (maybe minutes in) first mounts it, and also when no
 * step uses it. Only the file's existence is checked; its bytes are read by
 * the step that mounts it.
 */
export async function checkSecretFiles (secrets: readonly SecretSpec[]): Promise<void> {
  for (const s of secrets) {
    if (s.kind !== 'file') continue
    const st = await stat(s.src).catch((err: NodeJS.ErrnoException) => err)
    if (!(st instanceof Error) && !st.isDirectory()) continue
    const cause = st instanceof Error ? describeFsError(st) : 'it is a directory'
    throw new TsbuildError('NOT_FOUND', `secret ${JSON.stringify(s.id)}: cannot read ${s.src}: ${cause}`, { hint: secretFileHint(s) })
  }
}

function secretFileHint (s: Extract<SecretSpec, { kind: 'file' }>): string {
  // `src=~/x` reaches tsbuild as typed: a shell expands ~ only at the start of a word or after the first `=`.
  if (/(^|\/)~(\/|$)/.test(s.src)) return 'the shell left ~ as it is after src=: write src=$HOME/… instead'
  // `--secret id=X` alone is the variable X when it is set, else the file X (BuildKit's rule).
  if (s.src.endsWith(`/${s.id}`)) return `give the file with src=PATH, or set the environment variable ${s.id} (--secret id=${s.id} reads it when it is set), or use env=VARIABLE`
  return 'give the path of a file with src=PATH (relative to the working directory), or use env=VARIABLE'
}

/**
 * The `--ssh` sources are checked when the build starts too, as BuildKit's
 * ssh provider opens them first: `--ssh default` needs SSH_AUTH_SOCK naming a
 * socket, and every socket or key path given must be there. The agents themselves start
 * when a step mounts one.
 */
export async function checkSshSources (specs: readonly SshSpec[], env: Readonly<Record<string, string | undefined>>): Promise<void> {
  for (const spec of specs) {
    if (spec.paths.length === 0) {
      const sock = env.SSH_AUTH_SOCK
      const startAgent = 'start an agent (eval $(ssh-agent); ssh-add) or pass key files: --ssh default=$HOME/.ssh/id_ed25519'
      if (sock === undefined || sock === '') {
        throw new TsbuildError('NOT_FOUND', `--ssh ${spec.id}: SSH_AUTH_SOCK is not set, so there is no agent to forward`, { hint: startAgent })
      }
      // A socket left behind by an agent that has gone (an old shell's SSH_AUTH_SOCK).
      if (!await stat(sock).then((s) => s.isSocket(), () => false)) {
        throw new TsbuildError('NOT_FOUND', `--ssh ${spec.id}: SSH_AUTH_SOCK=${sock} is not a socket: the agent is gone`, { hint: startAgent })
      }
      continue
    }
    for (const p of spec.paths) {
      const err = await stat(p).then(() => undefined, (e: NodeJS.ErrnoException) => e)
      if (err === undefined) continue
      throw new TsbuildError('NOT_FOUND', `--ssh ${spec.id}: cannot read ${p}: ${describeFsError(err)}`, {
        hint: /(^|\/)~(\/|$)/.test(p) ? 'the shell left ~ as it is: write $HOME/… instead' : 'give an agent socket or private key files: --ssh ID=PATH[,PATH…]',
      })
    }
  }
}
