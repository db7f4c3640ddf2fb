import { DockerfileError } from '../../../common/errors.js'
import { parse } from '../parser/index.js'
import { parseInstruction } from './parse.js'
import type { ArgInstruction, Dockerfile, Stage } from './types.js'

/**
 * Parse a Dockerfile and group its instructions into stages. Only ARG may
 * come before the first FROM (those are the meta args FROM lines can use).
 */
export function parseDockerfile (text: string, opts: { file?: string } = {}): Dockerfile {
  const file = opts.file ?? 'Dockerfile'
  const ast = parse(text, { file })
  const stages: Stage[] = []
  const metaArgs: ArgInstruction[] = []
  const names = new Set<string>()
  const comments = new Map<number, string[]>()
  for (const node of ast.nodes) {
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
      continue
    }
    const current = stages[stages.length - 1]
    if (current !== undefined) { current.commands.push(instruction); continue }
    if (instruction.kind === 'arg') { metaArgs.push(instruction); continue }
    throw new DockerfileError('INVALID_INSTRUCTION',
      `${file}:${node.range.start.line}: no build stage in current context: ${instruction.kind.toUpperCase()} before the first FROM (only ARG may come first)`,
      { file, ranges: [node.range] })
  }
  if (stages.length === 0) {
    throw new DockerfileError('INVALID_INSTRUCTION', `${file}: the Dockerfile contains no stages to build (no FROM instruction)`, { file, ranges: [ast.range] })
  }
  return { stages, metaArgs, directives: ast.directives, warnings: ast.warnings, escapeToken: ast.escapeToken, comments }
}
