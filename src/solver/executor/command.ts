import { runTool } from '../../common/helperShell.js'
import { access, constants } from 'node:fs/promises'
import { delimiter, join } from 'node:path'

/** Run a helper binary to completion (through the helper shells); its stdout, or an error quoting its stderr. */
export async function runCommand (cmd: string, args: readonly string[]): Promise<string> {
  return (await runTool(cmd, args)).toString('utf8')
}

/** The path `spawn` would run for `cmd` (searched on PATH unless it names a path), or undefined. */
export async function findExecutable (cmd: string, path = process.env.PATH ?? ''): Promise<string | undefined> {
  const candidates = cmd.includes('/') ? [cmd] : path.split(delimiter).filter((d) => d !== '').map((d) => join(d, cmd))
  for (const c of candidates) {
    if (await access(c, constants.X_OK).then(() => true, () => false)) return c
  }
  return undefined
}
