/**
 * `--call=outline` and `--call=targets`: the build args a target reads
 * (with defaults and the comment above them), the secrets and ssh it
 * mounts, and every stage with its description (the `# name description`
 * comment directly above FROM).
 */
import type { ArgInstruction, Dockerfile } from '../instructions/index.js'
import type { StageNode } from './graph.js'
import type { SourceRange } from '../../../common/errors.js'
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

/** How `--call=outline|targets` prints: BuildKit's text printer, or the JSON buildx prints with `format=json`. */
export type CallFormat = 'text' | 'json'

export interface CallFormatOptions {
  format?: CallFormat
  /** The Dockerfile text, listed under `sources` in JSON (locations point into it, as in BuildKit). */
  source?: string
}

/**
 * Rows as Go's text/tabwriter lays them out with BuildKit's settings: every
 * cell but a row's last is padded to its column's widest cell plus `padding`
 * spaces (so a row with an empty last cell keeps the trailing spaces).
 */
function tabwrite (rows: ReadonlyArray<readonly string[]>, padding: number): string {
  const width = (c: string): number => [...c].length
  const widths: number[] = []
  for (const r of rows) r.forEach((c, i) => { if (i < r.length - 1) widths[i] = Math.max(widths[i] ?? 0, width(c)) })
  return rows.map(r => r.map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i]! + padding - width(c)))).join('') + '\n').join('')
}

/** The outline as BuildKit's PrintOutline: each non-empty section followed by a blank line. */
export function formatOutline (o: Outline, opts: CallFormatOptions = {}): string {
  if (opts.format === 'json') return goJson(outlineJson(o, opts.source))
  let out = ''
  if (o.name || o.description) {
    const head = [['TARGET:', o.name || '(default)']]
    if (o.description) head.push(['DESCRIPTION:', o.description])
    out += tabwrite(head, 1) + '\n'
  }
  if (o.args.length > 0) out += tabwrite([['BUILD ARG', 'VALUE', 'DESCRIPTION'], ...o.args.map(a => [a.name, a.value ?? '', a.description ?? ''])], 3) + '\n'
  const required = (u: OutlineUse): string => (u.isRequired ? 'true' : '')
  if (o.secrets.length > 0) out += tabwrite([['SECRET', 'REQUIRED'], ...o.secrets.map(s => [s.name, required(s)])], 3) + '\n'
  if (o.ssh.length > 0) out += tabwrite([['SSH', 'REQUIRED'], ...o.ssh.map(s => [s.name, required(s)])], 3) + '\n'
  return out
}

/** The stages as BuildKit's PrintTargets; unnamed stages other than the default cannot be asked for by name and are left out. */
export function formatTargets (o: Outline, opts: CallFormatOptions = {}): string {
  if (opts.format === 'json') return goJson(targetsJson(o, opts.source))
  const rows = [['TARGET', 'DESCRIPTION']]
  for (const t of o.targets) {
    const name = t.name === undefined ? (t.isDefault ? '(default)' : undefined) : t.isDefault ? `${t.name} (default)` : t.name
    if (name !== undefined) rows.push([name, t.description ?? ''])
  }
  return tabwrite(rows, 1)
}

// The JSON below follows BuildKit's subrequest structs (frontend/subrequests/outline and targets):
// their JSON tag names, field order, and omitempty (no empty strings, false or zero positions).

function outlineJson (o: Outline, source: string | undefined): Record<string, unknown> {
  const uses = (list: readonly OutlineUse[]): Array<Record<string, unknown>> => list.map(u => ({ name: u.name, ...(u.isRequired ? { required: true } : {}) }))
  return {
    ...(o.name ? { name: o.name } : {}),
    ...(o.description ? { description: o.description } : {}),
    ...(o.args.length > 0
      ? {
          args: o.args.map(a => ({
            name: a.name,
            ...(a.description ? { description: a.description } : {}),
            ...(a.value ? { value: a.value } : {}),
            ...(a.range !== undefined ? { location: location(a.range) } : {}),
          })),
        }
      : {}),
    ...(o.secrets.length > 0 ? { secrets: uses(o.secrets) } : {}),
    ...(o.ssh.length > 0 ? { ssh: uses(o.ssh) } : {}),
    ...(source !== undefined ? { sources: [Buffer.from(source).toString('base64')] } : {}),
  }
}

function targetsJson (o: Outline, source: string | undefined): Record<string, unknown> {
  return {
    targets: o.targets.map(t => ({
      ...(t.name ? { name: t.name } : {}),
      ...(t.isDefault ? { default: true } : {}),
      ...(t.description ? { description: t.description } : {}),
      ...(t.base ? { base: t.base } : {}),
      ...(t.platform ? { platform: t.platform } : {}),
      location: location(t.range),
    })),
    sources: source !== undefined ? [Buffer.from(source).toString('base64')] : null,
  }
}

/**
 * A pb.Location in source 0 (so no sourceIndex, as omitempty drops a zero).
 * BuildKit locates an instruction by its lines only, so characters are left out too.
 */
function location (r: SourceRange): Record<string, unknown> {
  return { ranges: [{ start: { line: r.start.line }, end: { line: r.end.line } }] }
}

/** JSON as Go's json.MarshalIndent writes it: two-space indent, and <, >, & and U+2028/9 escaped. */
function goJson (value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[<>&\u2028\u2029]/g, c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) + '\n'
}
