import { PassThrough } from 'node:stream'
import { main } from '../../src/cli/main.js'

export interface CliResult { code: number; stdout: string; stderr: string }

/** Run the CLI in this process (no spawn, no build step) with captured output. */
export async function runMain (argv: string[], opts: { env: NodeJS.ProcessEnv; cwd: string }): Promise<CliResult> {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.setEncoding('utf8').on('data', (c: string) => { out += c })
  stderr.setEncoding('utf8').on('data', (c: string) => { err += c })
  const code = await main(argv, { stdin: new PassThrough(), stdout, stderr, env: opts.env, cwd: opts.cwd })
  return { code, stdout: out, stderr: err }
}
