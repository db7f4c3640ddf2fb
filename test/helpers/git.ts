// Git repositories for tests: a fixed identity and no user config, so
// commits work on any machine and nothing in $HOME changes what git does.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)

export const gitEnv = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com', HOME: '/nonexistent', PATH: process.env['PATH'] ?? '' }

/** Run a `sh -e` script (git commands) in `cwd` with {@link gitEnv}; its trimmed stdout. */
export async function gitSh (cwd: string, script: string): Promise<string> {
  return (await run('sh', ['-ec', script], { cwd, env: gitEnv })).stdout.trim()
}
