import { runHelper } from '../../common/helperShell.js'
import { access, constants } from 'node:fs/promises'
import { delimiter, join } from 'node:path'

/** Run a helper binary to completion (through the helper shells); rejects with its stderr on a non-zero exit. */
export async function runCommand (cmd: string, args: readonly string[]): Promise<string> {
  const r = await runHelper(cmd, args)
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.code}: ${r.stderr.trim()}`)
  return r.stdout.toString('utf8')
}

/** The path `spawn` would run for `cmd` (searched on PATH unless it names a path), or undefined. */
export async function findExecutable (cmd: string, path = process.env.PATH ?? ''): Promise<string | undefined> {
  const candidates = cmd.includes('/') ? [cmd] : path.split(delimiter).filter((d) => d !== '').map((d) => join(d, cmd))
  for (const c of candidates) {
    if (await access(c, constants.X_OK).then(() => true, () => false)) return c
  }
  return undefined
}
