import { spawn } from 'node:child_process'
import { access, constants } from 'node:fs/promises'
import { delimiter, join } from 'node:path'

/** Run a helper binary to completion; rejects with its stderr on a non-zero exit. */
export async function runCommand (cmd: string, args: readonly string[]): Promise<string> {
  return await new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let errOut = ''
    child.stdout.on('data', (c: Buffer) => { out += c.toString() })
    child.stderr.on('data', (c: Buffer) => { errOut += c.toString() })
    child.on('error', reject)
    child.on('close', (code) => code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${errOut.trim()}`)))
  })
}

/** The path `spawn` would run for `cmd` (searched on PATH unless it names a path), or undefined. */
export async function findExecutable (cmd: string, path = process.env.PATH ?? ''): Promise<string | undefined> {
  const candidates = cmd.includes('/') ? [cmd] : path.split(delimiter).filter((d) => d !== '').map((d) => join(d, cmd))
  for (const c of candidates) {
    if (await access(c, constants.X_OK).then(() => true, () => false)) return c
  }
  return undefined
}
