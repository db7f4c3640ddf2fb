/**
 * Instructions that only change the image config (and the state's
 * settings): ENV LABEL EXPOSE USER CMD ENTRYPOINT VOLUME STOPSIGNAL
 * HEALTHCHECK SHELL ONBUILD MAINTAINER ARG, plus WORKDIR, which also
 * creates the directory. Each writes BuildKit's history line.
 */
import * as llb from '../../../llb/index.js'
import type {
  ArgInstruction, CommandLine, EnvInstruction, ExposeInstruction, HealthcheckInstruction, LabelInstruction, WorkdirInstruction,
} from '../instructions/index.js'
import { displayCommand, instructionMetadata, stageEnv, type ConvertContext, type StageState } from './context.js'
import { dockerfileError } from './errors.js'
import { commitToHistory, DEFAULT_SHELL, goDuration, goList, goQuoteList, goSetMap, setEnv } from './image.js'
import { parseUser } from './user.js'

/** Append a history line; only stages whose image ends up in the result keep one (see StageState.recordsImage). */
const history = (ctx: ConvertContext, st: StageState, createdBy: string, withLayer = false): void => {
  if (st.recordsImage) commitToHistory(st.image, createdBy, { withLayer, ...(ctx.created !== undefined ? { created: ctx.created } : {}) })
}

/** Shell form runs through SHELL (default `/bin/sh -c`); exec form is used as is. */
export function withShell (st: StageState, cmd: CommandLine): string[] {
  if (cmd.json) return cmd.args.slice()
  const shell = st.image.config?.Shell
  return [...(shell !== undefined && shell.length > 0 ? shell : DEFAULT_SHELL), cmd.args.join(' ')]
}

/** ENV and LABEL: every pair sees the environment as it was before the instruction. */
function expandPairs (ctx: ConvertContext, st: StageState, pairs: ReadonlyArray<{ key: string; value: string }>): Array<{ key: string; value: string }> {
  const env = stageEnv(st)
  return pairs.map(p => ({ key: ctx.lex.processWord(p.key, env), value: ctx.lex.processWord(p.value, env) }))
}

export function dispatchEnv (ctx: ConvertContext, st: StageState, instr: EnvInstruction): void {
  const pairs = expandPairs(ctx, st, instr.pairs)
  for (let i = 0; i < pairs.length; i++) st.state = st.state.addEnv(pairs[i]!.key, pairs[i]!.value)
  if (!st.recordsImage) return
  const config = st.image.config!
  const env = config.Env?.slice() ?? []
  for (const { key, value } of pairs) setEnv(env, key, value)
  config.Env = env
  history(ctx, st, `ENV ${pairs.map(p => `${p.key}=${p.value}`).join(' ')}`)
}

export function dispatchLabel (ctx: ConvertContext, st: StageState, instr: LabelInstruction): void {
  const pairs = expandPairs(ctx, st, instr.pairs)
  const labels = st.image.config!.Labels ??= {}
  for (const { key, value } of pairs) labels[key] = value
  if (st.recordsImage) history(ctx, st, `LABEL ${pairs.map(p => `${p.key}=${p.value}`).join(' ')}`)
}

/** `80`, `80/udp`, `8000-8002/tcp` → `80/tcp`, …; ranges are expanded. */
function portSpecs (ctx: ConvertContext, instr: ExposeInstruction, spec: string): string[] {
  const m = /^(?:(?:\[[^\]]*\]|[^:/]*):)?(\d+)(?:-(\d+))?(?:\/([a-zA-Z]+))?$/.exec(spec)
  if (m === null) throw dockerfileError('INVALID_INSTRUCTION', ctx.file, instr.range, `invalid port ${JSON.stringify(spec)} in EXPOSE: expected PORT[-PORT][/PROTO]`)
  const start = Number(m[1])
  const end = m[2] !== undefined ? Number(m[2]) : start
  const proto = (m[3] ?? 'tcp').toLowerCase()
  if (start > 65535 || end > 65535 || end < start) throw dockerfileError('INVALID_INSTRUCTION', ctx.file, instr.range, `invalid port range ${JSON.stringify(spec)} in EXPOSE`)
  // The protocols Docker's port parser knows; anything else fails the build there too.
  if (proto !== 'tcp' && proto !== 'udp' && proto !== 'sctp') throw dockerfileError('INVALID_INSTRUCTION', ctx.file, instr.range, `invalid proto ${JSON.stringify(m[3])} in EXPOSE ${spec}: expected tcp, udp or sctp`)
  const out: string[] = []
  for (let p = start; p <= end; p++) out.push(`${p}/${proto}`)
  return out
}

export function dispatchExpose (ctx: ConvertContext, st: StageState, instr: ExposeInstruction): void {
  const env = stageEnv(st)
  const ports: string[] = []
  const seen = new Set<string>()
  for (let i = 0; i < instr.ports.length; i++) {
    const specs = ctx.lex.processWords(instr.ports[i]!, env)
    for (let j = 0; j < specs.length; j++) {
      const list = portSpecs(ctx, instr, specs[j]!)
      for (let k = 0; k < list.length; k++) {
        if (!seen.has(list[k]!)) { seen.add(list[k]!); ports.push(list[k]!) }
      }
    }
  }
  const exposed = st.image.config!.ExposedPorts ??= {}
  for (let i = 0; i < ports.length; i++) exposed[ports[i]!] = {}
  if (st.recordsImage) history(ctx, st, `EXPOSE ${goSetMap(ports)}`)
}

export function dispatchUser (ctx: ConvertContext, st: StageState, user: string): void {
  const expanded = ctx.lex.processWord(user, stageEnv(st))
  st.state = st.state.user(expanded)
  st.image.config!.User = expanded
  history(ctx, st, `USER ${expanded}`)
}

export function dispatchCmd (ctx: ConvertContext, st: StageState, cmd: CommandLine): void {
  const args = withShell(st, cmd)
  const config = st.image.config!
  config.Cmd = args
  config.ArgsEscaped = true
  st.isCmdSet = true
  history(ctx, st, `CMD ${goQuoteList(args)}`)
}

/** ENTRYPOINT drops a CMD inherited from the base image (not one set in this Dockerfile), as Docker does. */
export function dispatchEntrypoint (ctx: ConvertContext, st: StageState, cmd: CommandLine): void {
  const args = withShell(st, cmd)
  const config = st.image.config!
  config.Entrypoint = args
  if (!st.isCmdSet) config.Cmd = null
  history(ctx, st, `ENTRYPOINT ${goQuoteList(args)}`)
}

export function dispatchVolume (ctx: ConvertContext, st: StageState, paths: readonly string[]): void {
  const env = stageEnv(st)
  const expanded = paths.map(p => ctx.lex.processWord(p, env))
  const volumes = st.image.config!.Volumes ??= {}
  for (const v of expanded) volumes[v] = {}
  history(ctx, st, `VOLUME ${goList(expanded)}`)
}

const SIGNALS = new Set(['ABRT', 'ALRM', 'BUS', 'CHLD', 'CLD', 'CONT', 'FPE', 'HUP', 'ILL', 'INT', 'IO', 'IOT', 'KILL', 'PIPE', 'POLL',
  'PROF', 'PWR', 'QUIT', 'SEGV', 'STKFLT', 'STOP', 'SYS', 'TERM', 'TRAP', 'TSTP', 'TTIN', 'TTOU', 'URG', 'USR1', 'USR2', 'VTALRM',
  'WINCH', 'XCPU', 'XFSZ'])

export function dispatchStopsignal (ctx: ConvertContext, st: StageState, signal: string, range: WorkdirInstruction['range']): void {
  const s = ctx.lex.processWord(signal, stageEnv(st))
  const name = s.toUpperCase().replace(/^SIG/, '')
  const isValid = /^\d+$/.test(s) ? Number(s) > 0 && Number(s) < 65 : SIGNALS.has(name) || /^RTMIN(\+\d+)?$|^RTMAX(-\d+)?$/.test(name)
  if (!isValid) throw dockerfileError('INVALID_INSTRUCTION', ctx.file, range, `invalid signal: ${s}`)
  st.image.config!.StopSignal = s
  history(ctx, st, `STOPSIGNAL ${s}`)
}

export function dispatchHealthcheck (ctx: ConvertContext, st: StageState, instr: HealthcheckInstruction): void {
  const test = instr.isNone ? ['NONE'] : instr.test.json ? ['CMD', ...instr.test.args] : ['CMD-SHELL', instr.test.args.join(' ')]
  const hc = {
    Test: test,
    ...(instr.interval ? { Interval: instr.interval } : {}),
    ...(instr.timeout ? { Timeout: instr.timeout } : {}),
    ...(instr.startPeriod ? { StartPeriod: instr.startPeriod } : {}),
    ...(instr.startInterval ? { StartInterval: instr.startInterval } : {}),
    ...(instr.retries ? { Retries: instr.retries } : {}),
  }
  st.image.config!.Healthcheck = hc
  const d = (ns: number | undefined): string => goDuration(ns ?? 0)
  history(ctx, st, `HEALTHCHECK {Test:${goList(test)} Interval:${d(instr.interval)} Timeout:${d(instr.timeout)} StartPeriod:${d(instr.startPeriod)} StartInterval:${d(instr.startInterval)} Retries:${instr.retries ?? 0}}`)
}

export function dispatchShell (ctx: ConvertContext, st: StageState, shell: readonly string[]): void {
  st.image.config!.Shell = shell.slice()
  history(ctx, st, `SHELL ${goList(shell)}`)
}

export function dispatchMaintainer (ctx: ConvertContext, st: StageState, maintainer: string): void {
  st.image.author = maintainer
  history(ctx, st, `MAINTAINER ${maintainer}`)
}

/**
 * ARG inside a stage: a --build-arg value wins, then the default (expanded
 * against the stage), then the global value of the same name (how a stage
 * imports a meta ARG or a platform arg). The value joins the environment
 * RUN sees, never the image config.
 */
export function dispatchArg (ctx: ConvertContext, st: StageState, instr: ArgInstruction): void {
  const parts: string[] = []
  for (const arg of instr.args) {
    ctx.declaredArgs.add(arg.key)
    let value: string | undefined
    const given = ctx.buildArgs.get(arg.key)
    if (given !== undefined) value = given
    else if (arg.value !== undefined) value = ctx.lex.processWord(arg.value, stageEnv(st))
    else {
      value = ctx.globalEnv.get(arg.key)
      if (ctx.targetDependentArgs.has(arg.key)) st.dependsOnTarget = true
    }
    if (value !== undefined) st.state = st.state.addEnv(arg.key, value)
    st.buildArgs.push(value !== undefined ? { key: arg.key, value } : { key: arg.key })
    parts.push(value !== undefined ? `${arg.key}=${value}` : arg.key)
  }
  if (st.recordsImage) history(ctx, st, `ARG ${parts.join(' ')}`)
}

/** WORKDIR: relative to the previous one; creates the directory (owned by USER) unless it is `/`. */
export function dispatchWorkdir (ctx: ConvertContext, st: StageState, instr: WorkdirInstruction): void {
  const path = ctx.lex.processWord(instr.path, stageEnv(st))
  st.state = st.state.dir(path)
  const wd = st.state.getDir()
  st.image.config!.WorkingDir = wd
  let withLayer = false
  if (wd !== '/') {
    const user = st.image.config!.User
    const owner = user !== undefined && user !== '' ? parseUser(user) : undefined
    st.state = st.state.file(llb.mkdir(wd, 0o755, { makeParents: true, ...(owner !== undefined ? { owner } : {}) }),
      instructionMetadata(ctx, st, { name: displayCommand(ctx, st, instr.original), original: instr.original.trim(), range: instr.range }))
    withLayer = true
  }
  history(ctx, st, `WORKDIR ${wd}`, withLayer)
}
