import { resolveStateDir } from '../cache/stateDir.js'
import type { CommandIo } from './io.js'

/** The state dir for a command: $TSBUILD_ROOT, /var/lib/tsbuild as root, else ~/.local/share/tsbuild. */
export function stateDirFor (io: CommandIo): string {
  return resolveStateDir(io.env)
}
