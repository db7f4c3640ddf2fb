/**
 * One error type for everything a user can cause. Broken invariants stay plain
 * `Error`s; the CLI prints a TsbuildError as a one-screen message (no stack)
 * and anything else as an internal error.
 */
export type ErrorCode =
  | 'USAGE' // bad command line: unknown flag, bad flag value, missing argument
  | 'DOCKERFILE_SYNTAX' // the Dockerfile cannot be parsed
  | 'UNKNOWN_INSTRUCTION'
  | 'INVALID_INSTRUCTION' // parsed, but an instruction or its flags are wrong
  | 'EXPANSION' // ${V:?msg} and bad substitutions
  | 'UNKNOWN_STAGE'
  | 'INVALID_REFERENCE' // image reference grammar
  | 'INVALID_PLATFORM'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'CONFLICT' // the store is not in a state that allows this (an image with several names, say) without --force
  | 'UNAVAILABLE' // registry down, connection refused, timeouts after retries
  | 'UNAUTHORIZED'
  | 'DIGEST_MISMATCH'
  | 'SIZE_MISMATCH'
  | 'TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'PLATFORM_NOT_FOUND'
  | 'EXEC_FAILED' // a RUN step exited non-zero
  | 'PERMISSION_DENIED' // --allow entitlements, root requirements
  | 'PATH_ESCAPE' // a path tried to leave its root
  | 'MISSING_DEPENDENCY' // runc, qemu, git … not installed
  | 'CANCELLED'
  | 'NOT_IMPLEMENTED_YET' // an option parsed now whose machinery is not in this version
  | 'CHECK_FAILED' // Dockerfile checks found problems and `check=error=true` asked to fail
  | 'IO'

export interface TsbuildErrorOptions {
  hint?: string
  cause?: unknown
}

// Each CLI command is bundled on its own, so an error may come from another
// copy of this module: `instanceof` also accepts errors branded by any copy.
const TSBUILD_ERROR = Symbol.for('tsbuild.TsbuildError')
const DOCKERFILE_ERROR = Symbol.for('tsbuild.DockerfileError')

function isBranded (x: unknown, brand: symbol): boolean {
  return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[brand] === true
}

export class TsbuildError extends Error {
  readonly code: ErrorCode
  readonly hint?: string

  static override [Symbol.hasInstance] (x: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, x)) return true
    return this === TsbuildError && isBranded(x, TSBUILD_ERROR)
  }

  constructor (code: ErrorCode, message: string, opts: TsbuildErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    Object.defineProperty(this, TSBUILD_ERROR, { value: true })
    this.name = 'TsbuildError'
    this.code = code
    if (opts.hint !== undefined) this.hint = opts.hint
  }
}

/** 1-based line, 0-based character (column), as in BuildKit's parser.Range. */
export interface Position { line: number; character: number }
export interface SourceRange { start: Position; end: Position }

/** An error located in a Dockerfile; the CLI prints the lines with a caret. */
export class DockerfileError extends TsbuildError {
  readonly file: string
  readonly ranges: readonly SourceRange[]

  static override [Symbol.hasInstance] (x: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, x)) return true
    return this === DockerfileError && isBranded(x, DOCKERFILE_ERROR)
  }

  constructor (code: ErrorCode, message: string, opts: TsbuildErrorOptions & { file: string; ranges: readonly SourceRange[] }) {
    super(code, message, opts)
    Object.defineProperty(this, DOCKERFILE_ERROR, { value: true })
    this.name = 'DockerfileError'
    this.file = opts.file
    this.ranges = opts.ranges
  }
}

/** Walk the `cause` chain like Go's errors.Is. */
export function hasCode (err: unknown, code: ErrorCode): boolean {
  for (let e: unknown = err, depth = 0; e != null && depth < 32; depth++) {
    if (e instanceof TsbuildError && e.code === code) return true
    e = (e as { cause?: unknown }).cause
  }
  return false
}

/** First TsbuildError in the cause chain, if any. */
export function findTsbuildError (err: unknown): TsbuildError | undefined {
  for (let e: unknown = err, depth = 0; e != null && depth < 32; depth++) {
    if (e instanceof TsbuildError) return e
    e = (e as { cause?: unknown }).cause
  }
  return undefined
}

/** Serialisable form for crossing a worker-thread boundary; rebuilt with `fromWire`. */
export interface WireError { code: ErrorCode; message: string; hint?: string }
export function toWire (err: unknown): WireError | undefined {
  const t = findTsbuildError(err)
  return t === undefined ? undefined : { code: t.code, message: t.message, ...(t.hint !== undefined ? { hint: t.hint } : {}) }
}
export function fromWire (w: WireError): TsbuildError {
  return new TsbuildError(w.code, w.message, w.hint !== undefined ? { hint: w.hint } : {})
}
