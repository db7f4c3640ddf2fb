import { DockerfileError, TsbuildError, findTsbuildError } from '../common/errors.js'
import type { CommandIo } from './io.js'

/** Print an error as a user sees it and return the exit code. */
export function reportError (err: unknown, io: CommandIo): number {
  const t = findTsbuildError(err)
  if (t === undefined) {
    io.stderr.write(`tsbuild: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    return 70
  }
  io.stderr.write(`ERROR: ${t.message}\n`)
  if (t instanceof DockerfileError) io.stderr.write(formatSourceContext(t))
  if (t.hint !== undefined) io.stderr.write(`hint: ${t.hint}\n`)
  if (t.code === 'CANCELLED') return 130
  return t.code === 'USAGE' ? 2 : 1
}

function formatSourceContext (e: DockerfileError): string {
  const r = e.ranges[0]
  if (r === undefined) return ''
  return ` --> ${e.file}:${r.start.line}:${r.start.character + 1}\n`
}

export { TsbuildError }
