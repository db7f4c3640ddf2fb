/**
 * `--call=outline` and `--call=targets`: the build args a target reads
 * (with defaults and the comment above them), the secrets and ssh it
 * mounts, and every stage with its description (the `# name description`
 * comment directly above FROM).
 */
import type { ArgInstruction, Dockerfile } from '../instructions/index.js'
import type { StageNode } from './graph.js'
import type { Outline, OutlineArg, OutlineTarget, OutlineUse } from './types.js'

/** BuildKit's doc-comment rule: the comment starts with the name (a `:` after it is accepted too). */
function docComment (comments: readonly string[] | undefined, name: string | undefined): string | undefined {
  if (name === undefined || comments === undefined) return undefined
  for (const line of comments) {
    for (const sep of [' ', ': ']) {
      if (line.startsWith(name + sep)) return line.slice(name.length + sep.length).trim()
    }
  }
  return undefined
}

export function buildOutline (opts: {
  dockerfile: Dockerfile
  nodes: readonly StageNode[]
  target: StageNode
  reachable: ReadonlySet<StageNode>
  secrets: ReadonlyMap<string, boolean>
  ssh: ReadonlyMap<string, boolean>
}): Outline {
  const commentAt = (line: number): string[] | undefined => opts.dockerfile.comments.get(line)

  const args: OutlineArg[] = []
  const seen = new Set<string>()
  const addArgs = (instr: ArgInstruction, keep: (key: string) => boolean): void => {
    for (const a of instr.args) {
      if (seen.has(a.key) || !keep(a.key)) continue
      seen.add(a.key)
      const description = docComment(commentAt(instr.range.start.line), a.key)
      args.push({ name: a.key, ...(a.value !== undefined ? { value: a.value } : {}), ...(description !== undefined ? { description } : {}), range: instr.range })
    }
  }
  const stageArgs = new Set<string>()
  const fromTexts: string[] = []
  for (const n of opts.nodes) {
    if (!opts.reachable.has(n) || n.namedContext !== undefined) continue
    fromTexts.push(n.stage.from.image, n.stage.from.platform ?? '')
    const commands = n.stage.commands
    for (let i = 0; i < commands.length; i++) {
      const c = commands[i]!
      if (c.kind === 'arg') for (const a of c.args) stageArgs.add(a.key)
    }
  }
  const isUsedMeta = (key: string): boolean => stageArgs.has(key) || fromTexts.some(t => new RegExp(`\\$\\{?${key}(?![A-Za-z0-9_])`).test(t))
  for (const m of opts.dockerfile.metaArgs) addArgs(m, isUsedMeta)
  for (const n of opts.nodes) {
    if (!opts.reachable.has(n) || n.namedContext !== undefined) continue
    const commands = n.stage.commands
    for (let i = 0; i < commands.length; i++) {
      const c = commands[i]!
      if (c.kind === 'arg') addArgs(c, () => true)
    }
  }
  const uses = (m: ReadonlyMap<string, boolean>): OutlineUse[] => [...m].sort(([a], [b]) => a.localeCompare(b)).map(([name, isRequired]) => ({ name, isRequired }))
  const targets: OutlineTarget[] = opts.nodes.map((n, i) => {
    const description = docComment(commentAt(n.stage.from.range.start.line), n.stage.name)
    return {
      ...(n.stage.name !== undefined ? { name: n.stage.name } : {}),
      ...(description !== undefined ? { description } : {}),
      isDefault: i === opts.nodes.length - 1,
      base: n.stage.from.image,
      ...(n.stage.from.platform !== undefined ? { platform: n.stage.from.platform } : {}),
      range: n.stage.from.range,
    }
  })
  const t = targets[opts.nodes.indexOf(opts.target)]!
  return {
    ...(t.name !== undefined ? { name: t.name } : {}),
    ...(t.description !== undefined ? { description: t.description } : {}),
    args,
    secrets: uses(opts.secrets),
    ssh: uses(opts.ssh),
    targets,
  }
}

/** Left-aligned columns separated by at least three spaces (what buildx's tabwriter output looks like). */
function table (rows: ReadonlyArray<readonly string[]>): string {
  const widths: number[] = []
  for (const r of rows) r.forEach((c, i) => { widths[i] = Math.max(widths[i] ?? 0, c.length) })
  return rows.map(r => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('').trimEnd()).join('\n') + '\n'
}

export function formatOutline (o: Outline): string {
  const parts: string[] = []
  const head: string[][] = []
  if (o.name !== undefined) head.push(['TARGET:', o.name])
  if (o.description !== undefined) head.push(['DESCRIPTION:', o.description])
  if (head.length > 0) parts.push(table(head))
  if (o.args.length > 0) parts.push(table([['BUILD ARG', 'VALUE', 'DESCRIPTION'], ...o.args.map(a => [a.name, a.value ?? '<nil>', a.description ?? ''])]))
  if (o.secrets.length > 0) parts.push(table([['SECRET', 'REQUIRED', 'DESCRIPTION'], ...o.secrets.map(s => [s.name, String(s.isRequired), ''])]))
  if (o.ssh.length > 0) parts.push(table([['SSH', 'REQUIRED', 'DESCRIPTION'], ...o.ssh.map(s => [s.name, String(s.isRequired), ''])]))
  return parts.join('\n')
}

export function formatTargets (o: Outline): string {
  const rows = [['TARGET', 'DESCRIPTION']]
  for (const t of o.targets) {
    const name = t.name === undefined ? (t.isDefault ? '(default)' : undefined) : t.isDefault ? `${t.name} (default)` : t.name
    if (name !== undefined) rows.push([name, t.description ?? ''])
  }
  return table(rows)
}
