import { DockerfileError, TsbuildError, type ErrorCode } from '../../../common/errors.js'
import type { SourceRange } from '../../../common/errors.js'

/** A user mistake located in the Dockerfile: `file:line: message`. */
export function dockerfileError (code: ErrorCode, file: string, range: SourceRange, message: string, opts: { hint?: string; cause?: unknown } = {}): DockerfileError {
  return new DockerfileError(code, `${file}:${range.start.line}: ${message}`, { file, ranges: [range], ...opts })
}

/**
 * Run `fn`; a TsbuildError without a location (expansion failures, bad
 * references) becomes a DockerfileError at `range`, keeping its code.
 */
export function locate<T> (file: string, range: SourceRange, fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    throw relocate(err, file, range)
  }
}

export async function locateAsync<T> (file: string, range: SourceRange, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    throw relocate(err, file, range)
  }
}

function relocate (err: unknown, file: string, range: SourceRange): unknown {
  if (err instanceof DockerfileError || !(err instanceof TsbuildError)) return err
  return dockerfileError(err.code, file, range, err.message, { cause: err, ...(err.hint !== undefined ? { hint: err.hint } : {}) })
}
