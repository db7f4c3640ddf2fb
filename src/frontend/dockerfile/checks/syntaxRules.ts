/**
 * Checks that need only the written text of the instructions: keyword and
 * stage-name casing, stage names, descriptions.
 */
import type { AstNode } from '../parser/index.js'
import type { Instruction } from '../instructions/index.js'
import type { Linter } from './linter.js'

export interface CheckedNode {
  node: AstNode
  instr: Instruction
  /** The linter with this instruction's `# check=` comment applied. */
  lint: Linter
}

export interface CheckedStage {
  from: CheckedNode & { instr: Extract<Instruction, { kind: 'from' }> }
  /** Lowercased `AS` name. */
  name?: string
  commands: CheckedNode[]
}

/** The keyword as written (`Run`, `from`). */
export function writtenKeyword (node: AstNode): string {
  return /^\s*(\S+)/.exec(node.original)?.[1] ?? node.value
}

const isLower = (s: string): boolean => s === s.toLowerCase()
const isUpper = (s: string): boolean => s === s.toUpperCase()

/** Rules run while reading each instruction, before stages exist. */
export function checkNode ({ node, instr, lint }: CheckedNode): void {
  const range = node.range
  if (instr.kind === 'maintainer') lint.report('MaintainerDeprecated', range, 'Maintainer instruction is deprecated in favor of using label')
  if (instr.kind === 'from' && node.args.length === 3) {
    const name = node.args[2]!
    const as = node.args[1]!
    const from = writtenKeyword(node)
    if (!isLower(name)) lint.report('StageNameCasing', range, `Stage name '${name}' should be lowercase`)
    // A FROM of mixed case is ConsistentInstructionCasing's business, not this rule's.
    if ((isLower(from) && !isLower(as)) || (isUpper(from) && !isUpper(as))) {
      lint.report('FromAsCasing', range, `'${as}' and '${from}' keywords' casing do not match`)
    }
  }
  if (instr.kind === 'from' && instr.stageName !== undefined) checkDescription(lint, node, 'FROM', [instr.stageName])
  if (instr.kind === 'arg') checkDescription(lint, node, 'ARG', instr.args.map(a => a.key))
}

function checkDescription (lint: Linter, node: AstNode, instruction: string, keys: readonly string[]): void {
  const last = node.prevComment[node.prevComment.length - 1]
  if (last === undefined || keys.length === 0) return
  if (keys.includes(last.split(' ')[0]!)) return
  const example = keys.length > 1 ? '<arg_key>' : keys[0]!
  lint.report('InvalidDefinitionDescription', node.range, `Comment for ${instruction} should follow the format: \`# ${example} <description>\``)
}

const RESERVED_STAGE_NAMES = new Set(['context', 'scratch'])

export function checkStageNames (stages: readonly CheckedStage[]): void {
  const seen = new Set<string>()
  for (const st of stages) {
    if (st.name === undefined) continue
    const { lint, node } = st.from
    if (RESERVED_STAGE_NAMES.has(st.name)) lint.report('ReservedStageName', node.range, `Stage name should not use the same name as reserved stage ${JSON.stringify(st.name)}`)
    if (seen.has(st.name)) lint.report('DuplicateStageName', node.range, `Duplicate stage name ${JSON.stringify(st.name)}, stage names should be unique`)
    seen.add(st.name)
  }
}

/** Every keyword in the stages should follow the majority's case; a keyword of mixed case always fails. */
export function checkInstructionCasing (stages: readonly CheckedStage[]): void {
  const all = stages.flatMap(st => [st.from, ...st.commands])
  let lower = 0
  let upper = 0
  for (const { node } of all) {
    const k = writtenKeyword(node)
    if (isLower(k)) lower++
    else if (isUpper(k)) upper++
  }
  const isMajorityLower = lower > upper
  for (const { node, lint } of all) {
    const k = writtenKeyword(node)
    const wanted = isMajorityLower ? (isLower(k) ? undefined : 'lowercase') : (isUpper(k) ? undefined : 'uppercase')
    if (wanted !== undefined) lint.report('ConsistentInstructionCasing', node.range, `Command '${k}' should match the case of the command majority (${wanted})`)
  }
}
