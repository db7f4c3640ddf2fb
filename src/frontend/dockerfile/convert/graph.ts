/**
 * The stage graph: which stage builds on which (FROM <stage>, COPY --from,
 * RUN --mount from=), the target, and the stages reachable from it.
 * Stages not reachable from the target are never dispatched, so they
 * produce no vertices and resolve no base images.
 */
import { parsePlatform, type Platform } from '../../../common/platform.js'
import type { Instruction, Stage } from '../instructions/index.js'
import { suggest } from '../instructions/suggest.js'
import type { ShellLex } from '../shell/index.js'
import { dockerfileError, locate } from './errors.js'
import type { NamedContext } from './types.js'

export interface StageNode {
  stage: Stage
  /** `AS` name, or `stage-N` for unnamed stages (BuildKit's display name). */
  displayName: string
  /** FROM's image after expansion with the global args. */
  baseName: string
  /** FROM --platform, parsed. */
  platform?: Platform
  /** Set when FROM names an earlier (or any other) stage. */
  base?: StageNode
  /** A --build-context with this stage's name replaces the whole stage. */
  namedContext?: NamedContext
  /** Stages this one reads from, besides its base. */
  deps: Set<StageNode>
}

export interface StageGraph {
  nodes: StageNode[]
  byName: Map<string, StageNode>
  target: StageNode
}

/** The stage a `--from` / `from=` value names, or undefined for an image or named context. */
export function findStage (graph: Pick<StageGraph, 'nodes' | 'byName'>, name: string): StageNode | undefined {
  if (/^\d+$/.test(name)) return graph.nodes[Number(name)]
  return graph.byName.get(name.toLowerCase())
}

/** The `from` names an instruction reads (COPY --from, RUN --mount from=…). */
export function fromNames (instr: Instruction): readonly string[] {
  if (instr.kind === 'copy' && instr.from !== undefined) return [instr.from]
  if (instr.kind !== 'run') return NO_NAMES
  let names: string[] | undefined
  for (let i = 0; i < instr.mounts.length; i++) {
    const m = instr.mounts[i]!
    if (m.from !== undefined && m.type !== 'secret' && m.type !== 'ssh') (names ??= []).push(m.from)
  }
  return names ?? NO_NAMES
}

const NO_NAMES: readonly string[] = []

export function buildStageGraph (opts: {
  stages: readonly Stage[]
  globalEnv: ReadonlyMap<string, string>
  lex: ShellLex
  file: string
  target?: string
  namedContexts: ReadonlyMap<string, NamedContext>
}): StageGraph {
  const { file, lex, globalEnv } = opts
  const nodes: StageNode[] = []
  const byName = new Map<string, StageNode>()
  for (const stage of opts.stages) {
    const from = stage.from
    const baseName = locate(file, from.range, () => lex.processWord(from.image, globalEnv))
    if (baseName === '') throw dockerfileError('INVALID_INSTRUCTION', file, from.range, `base name (${from.image}) should not be blank`)
    let platform: Platform | undefined
    if (from.platform !== undefined) {
      const text = locate(file, from.range, () => lex.processWord(from.platform!, globalEnv))
      if (text === '') throw dockerfileError('INVALID_PLATFORM', file, from.range, `empty platform value from expression ${from.platform}`)
      platform = locate(file, from.range, () => parsePlatform(text))
    }
    const node: StageNode = {
      stage,
      displayName: stage.name ?? `stage-${stage.index}`,
      baseName,
      ...(platform !== undefined ? { platform } : {}),
      deps: new Set(),
    }
    const nc = stage.name !== undefined ? opts.namedContexts.get(stage.name) : undefined
    if (nc !== undefined) node.namedContext = nc
    nodes.push(node)
    if (stage.name !== undefined) byName.set(stage.name, node)
  }
  for (const node of nodes) {
    if (node.namedContext !== undefined) continue
    const base = byName.get(node.baseName.toLowerCase())
    if (base === node) throw dockerfileError('INVALID_INSTRUCTION', file, node.stage.from.range, `circular dependency detected on stage: ${node.displayName}`)
    if (base !== undefined) node.base = base
    const commands = node.stage.commands
    for (let i = 0; i < commands.length; i++) addDeps(node, commands[i]!, { nodes, byName }, file)
  }
  checkCycles(nodes, file)
  let target = nodes[nodes.length - 1]!
  if (opts.target !== undefined && opts.target !== '') {
    const t = byName.get(opts.target.toLowerCase())
    if (t === undefined) {
      const names = [...byName.keys()]
      const s = suggest(opts.target, names)
      throw dockerfileError('UNKNOWN_STAGE', file, nodes[0]!.stage.from.range,
        `target stage ${JSON.stringify(opts.target)} could not be found${s !== undefined ? ` (did you mean ${s}?)` : ''}`,
        names.length > 0 ? { hint: `stages in ${file}: ${names.join(', ')}` } : {})
    }
    target = t
  }
  return { nodes, byName, target }
}

/** Record the stages `instr` reads from; numeric --from must name an existing stage. */
export function addDeps (node: StageNode, instr: Instruction, graph: Pick<StageGraph, 'nodes' | 'byName'>, file: string): void {
  const names = fromNames(instr)
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!
    const dep = findStage(graph, name)
    if (dep === undefined && /^\d+$/.test(name)) {
      throw dockerfileError('UNKNOWN_STAGE', file, instr.range, `invalid stage index ${name}: the Dockerfile has ${graph.nodes.length} stage(s)`)
    }
    if (dep === node) throw dockerfileError('INVALID_INSTRUCTION', file, instr.range, `circular dependency detected on stage: ${node.displayName}`)
    if (dep !== undefined) node.deps.add(dep)
  }
}

function checkCycles (nodes: readonly StageNode[], file: string): void {
  const state = new Map<StageNode, 'visiting' | 'done'>()
  const visit = (n: StageNode, path: StageNode[]): void => {
    const s = state.get(n)
    if (s === 'done') return
    if (s === 'visiting') {
      const cycle = path.slice(path.indexOf(n)).map(x => x.displayName)
      throw dockerfileError('INVALID_INSTRUCTION', file, n.stage.from.range, `circular dependency detected on stage: ${n.displayName} (${[...cycle, n.displayName].join(' -> ')})`)
    }
    state.set(n, 'visiting')
    for (const d of edges(n)) visit(d, [...path, n])
    state.set(n, 'done')
  }
  for (const n of nodes) visit(n, [])
}

export function edges (n: StageNode): StageNode[] {
  return n.base !== undefined ? [n.base, ...n.deps] : [...n.deps]
}

/** Stages the target needs, itself included. */
export function reachableFrom (target: StageNode): Set<StageNode> {
  const seen = new Set<StageNode>()
  const stack = [target]
  while (stack.length > 0) {
    const n = stack.pop()!
    if (seen.has(n)) continue
    seen.add(n)
    stack.push(...edges(n))
  }
  return seen
}
