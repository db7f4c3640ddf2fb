/**
 * Checks on FROM lines: the image name and --platform are expanded with the
 * global ARGs only, so these rules see what the build will.
 */
import { parsePlatform, type Platform } from '../../../common/platform.js'
import type { ArgInstruction } from '../instructions/index.js'
import { suggest } from '../instructions/suggest.js'
import type { ShellLex } from '../shell/index.js'
import type { CheckedStage } from './syntaxRules.js'

export interface GlobalScope {
  /** Platform args and meta ARG values (build args applied). */
  env: ReadonlyMap<string, string>
  /** Meta ARG values from their defaults only, as if no --build-arg was given. */
  defaultsEnv?: ReadonlyMap<string, string>
  metaArgs: readonly ArgInstruction[]
}

// Docker reference grammar, lowercase path components with an optional registry host, tag and digest.
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*'
const HOST = '(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?'
const REFERENCE = new RegExp(`^(?:${HOST}/)?${COMPONENT}(?:/${COMPONENT})*(?::[\\w][\\w.-]{0,127})?(?:@[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,})?$`)

export function isValidImageRef (ref: string): boolean {
  return ref.length <= 255 + 128 && REFERENCE.test(ref)
}

export function checkFrom (st: CheckedStage, scope: GlobalScope, lex: ShellLex): void {
  const { instr, lint, node } = st.from
  const range = node.range
  const declared = new Set([...scope.env.keys(), ...scope.metaArgs.flatMap(m => m.args.map(a => a.key))])
  const reportUndeclared = (unmatched: ReadonlySet<string>): void => {
    for (const name of unmatched) {
      if (declared.has(name)) continue
      const s = suggest(name, [...declared])
      lint.report('UndefinedArgInFrom', range, `FROM argument '${name}' is not declared${s !== undefined ? ` (did you mean ${s}?)` : ''}`)
    }
  }
  try { reportUndeclared(lex.processWordWithMatches(instr.image, scope.env).unmatched) } catch { /* the build reports the expansion error */ }

  if (scope.defaultsEnv !== undefined) {
    try {
      const name = lex.processWord(instr.image, scope.defaultsEnv)
      if (!isValidImageRef(name)) lint.report('InvalidDefaultArgInFrom', range, `Default value for ARG ${instr.image} results in empty or invalid base image name`)
    } catch { /* as above */ }
  }

  if (instr.platform === undefined) return
  let m
  try { m = lex.processWordWithMatches(instr.platform, scope.env) } catch { return }
  reportUndeclared(m.unmatched)
  if (m.matched.size === 1 && m.unmatched.size === 0 && m.matched.has('TARGETPLATFORM') && m.result === scope.env.get('TARGETPLATFORM')) {
    lint.report('RedundantTargetPlatform', range, `Setting platform to predefined ${instr.platform} in FROM is redundant as this is the default behavior`)
  }
  if (m.matched.size === 0 && m.unmatched.size === 0) {
    let p: Platform
    try { p = parsePlatform(m.result) } catch { return }
    // A stage named for its platform (`build-arm64`) pins it on purpose.
    const name = st.name ?? ''
    if (name.includes(p.os) || name.includes(p.architecture)) return
    lint.report('FromPlatformFlagConstDisallowed', range, `FROM --platform flag should not use constant value ${JSON.stringify(m.result)}`)
  }
}
