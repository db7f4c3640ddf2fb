import { DockerfileError } from '../../../common/errors.js'
import { parse, type AstNode } from '../parser/index.js'
import { parseInstruction } from './parse.js'
import type { ArgInstruction, Dockerfile, Stage } from './types.js'

/**
 * Parse a Dockerfile and group its instructions into stages. Only ARG may
 * come before the first FROM (those are the meta args FROM lines can use).
 */
export function parseDockerfile (text: string, opts: { file?: string } = {}): Dockerfile {
  const file = opts.file ?? 'Dockerfile'
  const stages: Stage[] = []
  const metaArgs: ArgInstruction[] = []
  const names = new Set<string>()
  const comments = new Map<number, string[]>()
  // Nodes become instructions as the parser completes them (so they are let
  // go young), but, as in BuildKit, a syntax error anywhere in the file is
  // reported before any instruction's error: the first of those waits until
  // the whole file has parsed.
  let instructionError: { err: unknown } | undefined
  const ast = parse(text, {
    file,
    onNode: (node) => {
      if (instructionError !== undefined) return
      try { addNode(node) } catch (err) { instructionError = { err } }
    },
  })
  if (instructionError !== undefined) throw instructionError.err
  function addNode (node: AstNode): void {
    if (node.prevComment.length > 0) comments.set(node.range.start.line, node.prevComment)
    const instruction = parseInstruction(node, { file })
    if (instruction.kind === 'from') {
      const name = instruction.stageName
      if (name !== undefined) {
        if (names.has(name)) {
          throw new DockerfileError('INVALID_INSTRUCTION', `${file}:${node.range.start.line}: duplicate stage name "${name}"`, { file, ranges: [node.range] })
        }
        names.add(name)
      }
      stages.push({ ...(name !== undefined ? { name } : {}), index: stages.length, from: instruction, commands: [] })
      return
    }
    const current = stages[stages.length - 1]
    if (current !== undefined) { current.commands.push(instruction); return }
    if (instruction.kind === 'arg') { metaArgs.push(instruction); return }
    throw new DockerfileError('INVALID_INSTRUCTION',
      `${file}:${node.range.start.line}: no build stage in current context: ${instruction.kind.toUpperCase()} before the first FROM (only ARG may come first)`,
      { file, ranges: [node.range] })
  }
  if (stages.length === 0) {
    throw new DockerfileError('INVALID_INSTRUCTION', `${file}: the Dockerfile contains no stages to build (no FROM instruction)`, { file, ranges: [ast.range] })
  }
  return { stages, metaArgs, directives: ast.directives, warnings: ast.warnings, escapeToken: ast.escapeToken, comments }
}
