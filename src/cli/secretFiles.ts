import { stat } from 'node:fs/promises'
import { TsbuildError } from '../common/errors.js'
import type { SecretSpec } from '../engine/request.js'

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
    const cause = st instanceof Error ? (st.code === 'ENOENT' ? 'no such file' : st.code ?? st.message) : 'it is a directory'
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
