/**
 * Dispatching one stage: its dependencies first (depth first, so every
 * stage a `--from` names is finished before it is read), then FROM, the
 * ONBUILD triggers of its base, and its instructions in order.
 */
import { formatPlatform } from '../../../common/platform.js'
import type { State } from '../../../llb/index.js'
import type { Instruction } from '../instructions/index.js'
import type { ConvertContext, StageState } from './context.js'
import { copyFrom } from './copy.js'
import { dockerfileError, locate } from './errors.js'
import { externalSource, initReplacedStage, initStage } from './from.js'
import { addDeps, findStage, fromNames, type StageNode } from './graph.js'
import * as meta from './metadata.js'
import { dispatchRun } from './run.js'

export function dispatchStage (ctx: ConvertContext, node: StageNode, path: readonly StageNode[] = []): Promise<StageState> {
  if (path.includes(node)) {
    const names = [...path.slice(path.indexOf(node)), node].map(n => n.displayName)
    return Promise.reject(dockerfileError('INVALID_INSTRUCTION', ctx.file, node.stage.from.range, `circular dependency detected on stage: ${node.displayName} (${names.join(' -> ')})`))
  }
  let p = ctx.stages.get(node)
  if (p === undefined) {
    // A stage an earlier target platform converted without depending on it
    // (a `FROM --platform=$BUILDPLATFORM` build stage, typically) gives the
    // same vertices again: reuse it instead of converting it once more.
    const key = sharedStageKey(node)
    const shared = ctx.sharedStages.get(key)
    p = shared !== undefined
      ? Promise.resolve(shared)
      : runStage(ctx, node, [...path, node]).then(st => {
        if (!st.dependsOnTarget) ctx.sharedStages.set(key, st)
        return st
      })
    ctx.stages.set(node, p)
  }
  return p
}

/** What makes a stage the same in every platform's graph, given that it does not depend on the target platform. */
function sharedStageKey (node: StageNode): string {
  return `${node.stage.index}\0${node.baseName}\0${node.platform !== undefined ? formatPlatform(node.platform) : ''}`
}

const NO_SOURCES: Map<string, State> = new Map()

async function runStage (ctx: ConvertContext, node: StageNode, path: readonly StageNode[]): Promise<StageState> {
  if (node.namedContext !== undefined) return await initReplacedStage(ctx, node)
  const base = node.base !== undefined ? await dispatchStage(ctx, node.base, path) : undefined
  for (const dep of node.deps) await dispatchStage(ctx, dep, path)
  const { st, triggers } = await initStage(ctx, node, base)
  for (const trigger of triggers) {
    const before = new Set(node.deps)
    addDeps(node, trigger, ctx.graph, ctx.file)
    for (const dep of node.deps) if (!before.has(dep)) await dispatchStage(ctx, dep, path)
  }
  for (const dep of node.deps) if ((await dispatchStage(ctx, dep, path)).dependsOnTarget) st.dependsOnTarget = true
  const commands = triggers.length > 0 ? [...triggers, ...node.stage.commands] : node.stage.commands
  for (let i = 0; i < commands.length; i++) {
    const instr = commands[i]!
    const names = fromNames(instr)
    const sources = names.length === 0 ? NO_SOURCES : new Map<string, State>()
    for (let j = 0; j < names.length; j++) {
      const name = names[j]!
      const stage = findStage(ctx.graph, name)
      if (stage !== undefined) {
        const source = await dispatchStage(ctx, stage, path)
        if (source.dependsOnTarget) st.dependsOnTarget = true
        sources.set(name, source.state)
      } else {
        st.dependsOnTarget = true // an image or named context, read for the target platform
        sources.set(name, await externalSource(ctx, name, ctx.targetPlatform, instr.range))
      }
    }
    st.isOnbuild = i < triggers.length
    locate(ctx.file, instr.range, () => dispatchInstruction(ctx, st, instr, name => sources.get(name)!))
  }
  st.isOnbuild = false
  return st
}

function dispatchInstruction (ctx: ConvertContext, st: StageState, instr: Instruction, sourceOf: (name: string) => State): void {
  switch (instr.kind) {
    case 'run': return dispatchRun(ctx, st, instr, sourceOf)
    case 'copy': case 'add': return copyFrom(ctx, st, instr, sourceOf)
    case 'env': return meta.dispatchEnv(ctx, st, instr)
    case 'label': return meta.dispatchLabel(ctx, st, instr)
    case 'expose': return meta.dispatchExpose(ctx, st, instr)
    case 'user': return meta.dispatchUser(ctx, st, instr.user)
    case 'workdir': return meta.dispatchWorkdir(ctx, st, instr)
    case 'cmd': return meta.dispatchCmd(ctx, st, instr)
    case 'entrypoint': return meta.dispatchEntrypoint(ctx, st, instr)
    case 'volume': return meta.dispatchVolume(ctx, st, instr.paths)
    case 'stopsignal': return meta.dispatchStopsignal(ctx, st, instr.signal, instr.range)
    case 'healthcheck': return meta.dispatchHealthcheck(ctx, st, instr)
    case 'shell': return meta.dispatchShell(ctx, st, instr.shell)
    case 'maintainer': return meta.dispatchMaintainer(ctx, st, instr.maintainer)
    case 'arg': return meta.dispatchArg(ctx, st, instr)
    case 'onbuild':
      (st.image.config!.OnBuild ??= []).push(instr.expression)
      st.onbuild.push(instr.instruction)
      return
    case 'from': throw new Error('FROM inside a stage: the parser groups stages')
  }
}
