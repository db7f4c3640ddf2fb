/**
 * Dockerfile checks without building, in the order a build would read the
 * stages: every stage, or (given a target) the rules on written text and FROM
 * lines for every stage and the rest for the stages the target needs, as
 * BuildKit does. Syntax errors still throw, as they would for a build.
 */
import { DockerfileError } from '../../../common/errors.js'
import { normalizePlatform, parsePlatform, type Platform } from '../../../common/platform.js'
import { buildMetaArgs, platformArgs } from '../convert/index.js'
import { fromNames } from '../convert/graph.js'
import { parseInstruction, type ArgInstruction } from '../instructions/index.js'
import { parse, type Directive } from '../parser/index.js'
import { ShellLex } from '../shell/index.js'
import { checkFrom, type GlobalScope } from './fromRules.js'
import { defaultCheckConfig, Linter, parseCheckOptions, type CheckConfig } from './linter.js'
import { checkStage, type StageScope } from './stageRules.js'
import { checkInstructionCasing, checkNode, checkStageNames, type CheckedNode, type CheckedStage } from './syntaxRules.js'
import type { CheckFinding, CheckReport, CheckRequest } from './types.js'

export const CHECK_BUILD_ARG = 'BUILDKIT_DOCKERFILE_CHECK'

/** The config in force: the build arg when given, else the file's `# check=` directive. */
export function checkConfigFor (directives: readonly Directive[], buildArgs: ReadonlyMap<string, string>, file: string): CheckConfig {
  const arg = buildArgs.get(CHECK_BUILD_ARG)
  if (arg !== undefined) return parseCheckOptions(arg, `--build-arg ${CHECK_BUILD_ARG}`)
  const directive = directives.find(d => d.name === 'check')
  return directive === undefined ? defaultCheckConfig : parseCheckOptions(directive.value, `${file}:${directive.range.start.line}: check directive`)
}

export async function checkDockerfile (req: CheckRequest): Promise<CheckReport> {
  const { file } = req
  const ast = parse(req.dockerfile, { file })
  const config = checkConfigFor(ast.directives, req.buildArgs, file)
  const root = new Linter(file, config)
  for (const w of ast.warnings) if (w.rule === 'NoEmptyContinuation') root.report('NoEmptyContinuation', w.range, 'Empty continuation line')

  const stages: CheckedStage[] = []
  const metaArgs: ArgInstruction[] = []
  for (const node of ast.nodes) {
    const checked: CheckedNode = { node, instr: parseInstruction(node, { file }), lint: root.withComments(node.prevComment) }
    checkNode(checked)
    const { instr } = checked
    if (instr.kind === 'from') {
      stages.push({ from: { ...checked, instr }, ...(instr.stageName !== undefined ? { name: instr.stageName } : {}), commands: [] })
    } else if (stages.length > 0) {
      stages[stages.length - 1]!.commands.push(checked)
    } else if (instr.kind === 'arg') {
      metaArgs.push(instr)
    } else {
      throw new DockerfileError('INVALID_INSTRUCTION', `${file}:${node.range.start.line}: no build stage in current context: ${instr.kind.toUpperCase()} before the first FROM`, { file, ranges: [node.range] })
    }
  }
  checkStageNames(stages)
  checkInstructionCasing(stages)

  const lex = new ShellLex({ escapeToken: ast.escapeToken })
  const base = platformArgs(normalizePlatform(req.targetPlatform), normalizePlatform(req.buildPlatform))
  const globals = buildMetaArgs({ base, metaArgs, buildArgs: req.buildArgs, lex, file })
  let defaultsEnv: Map<string, string> | undefined
  // A default that cannot even be expanded is the build's error to report, not a finding.
  try { defaultsEnv = buildMetaArgs({ base, metaArgs, buildArgs: new Map(), lex, file }).env } catch { defaultsEnv = undefined }
  const scope: GlobalScope = { env: globals.env, metaArgs, ...(defaultsEnv !== undefined ? { defaultsEnv } : {}) }

  // BuildKit reads every FROM line while listing the stages, whatever the target.
  for (const st of stages) checkFrom(st, scope, lex)
  const baseNames = new Map(stages.map((st): [CheckedStage, string] => {
    try { return [st, lex.processWord(st.from.instr.image, globals.env)] } catch { return [st, st.from.instr.image] }
  }))
  const byName = (name: string): CheckedStage | undefined => stages.find(s => s.name !== undefined && s.name === name.toLowerCase())
  const parentOf = (st: CheckedStage): CheckedStage | undefined => byName(baseNames.get(st)!)
  const checked = stagesToCheck(req, stages, byName, parentOf)

  const done = new Map<CheckedStage, Promise<StageScope>>()
  const runStage = (st: CheckedStage, path: readonly CheckedStage[]): Promise<StageScope> => {
    let p = done.get(st)
    if (p === undefined) {
      p = (async () => {
        let start: StageScope
        const baseName = baseNames.get(st)!
        const parent = parentOf(st)
        if (parent !== undefined && parent !== st && !path.includes(parent)) {
          start = await runStage(parent, [...path, st])
        } else if (baseName.toLowerCase() === 'scratch' || parent !== undefined) {
          start = { env: new Map([['PATH', DEFAULT_PATH]]), declared: new Set(), isShellSet: false }
        } else {
          start = await imageScope(req, baseName, stagePlatform(st, lex, globals.env) ?? normalizePlatform(req.targetPlatform))
        }
        return checkStage({ lex, globalEnv: globals.env, buildArgs: req.buildArgs, ...(req.dockerignore !== undefined ? { dockerignore: req.dockerignore } : {}) }, st, start)
      })()
      done.set(st, p)
    }
    return p
  }
  for (const st of stages) if (checked.has(st)) await runStage(st, [])
  return { findings: sortFindings(root.findings), isError: config.isError }
}

/**
 * The stages whose instructions are followed: all of them, or those the
 * target reads from (FROM <stage>, COPY --from, RUN --mount from=), itself
 * included. An unknown target checks everything; the conversion reports it.
 */
function stagesToCheck (
  req: CheckRequest,
  stages: readonly CheckedStage[],
  byName: (name: string) => CheckedStage | undefined,
  parentOf: (st: CheckedStage) => CheckedStage | undefined,
): ReadonlySet<CheckedStage> {
  const all = new Set(stages)
  const hasTarget = req.target !== undefined && req.target !== ''
  if (req.isAllStages ?? !hasTarget) return all
  const target = hasTarget ? byName(req.target!) : stages[stages.length - 1]
  if (target === undefined) return all
  const seen = new Set<CheckedStage>()
  const pending = [target]
  while (pending.length > 0) {
    const st = pending.pop()!
    if (seen.has(st)) continue
    seen.add(st)
    const parent = parentOf(st)
    if (parent !== undefined) pending.push(parent)
    for (const c of st.commands) {
      for (const name of fromNames(c.instr)) {
        const dep = /^\d+$/.test(name) ? stages[Number(name)] : byName(name)
        if (dep !== undefined) pending.push(dep)
      }
    }
  }
  return seen
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

/** FROM --platform, when it expands to a valid platform. */
function stagePlatform (st: CheckedStage, lex: ShellLex, env: ReadonlyMap<string, string>): Platform | undefined {
  const text = st.from.instr.platform
  if (text === undefined) return undefined
  try { return parsePlatform(lex.processWord(text, env)) } catch { return undefined }
}

async function imageScope (req: CheckRequest, ref: string, platform: Platform): Promise<StageScope> {
  const config = req.baseImageConfig === undefined ? undefined : await req.baseImageConfig(ref, platform)
  const env = new Map<string, string>()
  for (const e of config?.Env ?? []) {
    const eq = e.indexOf('=')
    if (eq < 0) env.set(e, ''); else env.set(e.slice(0, eq), e.slice(eq + 1))
  }
  if (!env.has('PATH')) env.set('PATH', DEFAULT_PATH)
  return { env, declared: new Set(), isShellSet: (config?.Shell?.length ?? 0) > 0 }
}

/** By line, then rule; the same finding twice (one variable used twice on a line) is shown once. */
function sortFindings (findings: readonly CheckFinding[]): CheckFinding[] {
  const seen = new Set<string>()
  const unique = findings.filter(f => {
    const key = `${f.rule}\0${f.message}\0${f.range?.start.line ?? 0}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
  return unique.sort((a, b) => (a.range?.start.line ?? 0) - (b.range?.start.line ?? 0) || a.rule.localeCompare(b.rule))
}
