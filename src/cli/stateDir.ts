import { ensureDir } from '../common/ensureDir.js'
import { resolveStateDir, STATE_DIR_PURPOSE } from '../cache/stateDir.js'
import type { CommandIo } from './io.js'

/** The state dir for a command: $TSBUILD_ROOT, /var/lib/tsbuild as root, else ~/.local/share/tsbuild. */
export function stateDirFor (io: CommandIo): string {
  return resolveStateDir(io.env)
}

/** The state dir, created if missing; a file in its place or an uncreatable path is one error naming it. */
export async function ensureStateDir (io: CommandIo): Promise<string> {
  const root = stateDirFor(io)
  await ensureDir(root, STATE_DIR_PURPOSE)
  return root
}
