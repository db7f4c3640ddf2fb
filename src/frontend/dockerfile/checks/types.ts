import type { SourceRange } from '../../../common/errors.js'
import type { Platform } from '../../../common/platform.js'
import type { RuleName } from './rules.js'

/** One check result: which rule, what it found, and where. */
export interface CheckFinding {
  rule: RuleName
  /** One line, e.g. `JSON arguments recommended for CMD to prevent unintended behavior related to OS signals`. */
  message: string
  file: string
  range?: SourceRange
}

/** The parts of a base image's config the checks read. */
export interface BaseImageConfig {
  Env?: readonly string[]
  Shell?: readonly string[]
}

/** The context's ignore file, as the caller matched it. */
export interface IgnoreMatcher {
  readonly patterns: readonly string[]
  /** `path` is context-relative, slash-separated and cleaned; true when the file or a parent is excluded. */
  matches (path: string): boolean
}

export interface CheckRequest {
  dockerfile: string
  /** Display name used in findings (`Dockerfile`, `ci/Dockerfile`). */
  file: string
  buildArgs: ReadonlyMap<string, string>
  targetPlatform: Platform
  buildPlatform: Platform
  /** Absent when the context has no ignore file. */
  dockerignore?: IgnoreMatcher
  /**
   * Env and shell of a registry base image, for UndefinedVar and
   * JSONArgsRecommended. Without it only PATH is assumed to be set.
   */
  baseImageConfig?: (ref: string, platform: Platform) => Promise<BaseImageConfig | undefined>
  /**
   * The stage a build would produce (`--target`). As in BuildKit, the rules
   * that follow a stage's instructions then run only on the stages it needs;
   * rules on the written text and on FROM lines still cover every stage.
   */
  target?: string
  /**
   * Examine every stage. Defaults to true without a target, as `--check`
   * does; false without a target means the stages the last one needs, as a build does.
   */
  isAllStages?: boolean
}

export interface CheckReport {
  /** Sorted by line. */
  findings: CheckFinding[]
  /** `error=true` was set: findings should fail the build. */
  isError: boolean
}
