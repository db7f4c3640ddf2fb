/**
 * AST node → typed instruction, with BuildKit's per-instruction checks
 * (instructions/parse.go): argument counts, allowed flags and their values.
 */
import { DockerfileError, type ErrorCode } from '../../../common/errors.js'
import { chompHeredocContent, parseHeredocWord, type AstNode } from '../parser/index.js'
import { parseChmod } from './chmod.js'
import { parseDuration } from './duration.js'
import { InstructionSyntaxError, parseFlags, type FlagSpec, type ParsedFlags } from './flags.js'
import { parseRunMount } from './runMount.js'
import { didYouMean } from './suggest.js'
import type {
  AddInstruction, CopyInstruction, HealthcheckInstruction, Instruction, InstructionKind,
  KeyValue, RunDevice, RunInstruction, RunNetwork, RunSecurity, SourceContent,
} from './types.js'

export const instructionKinds: readonly InstructionKind[] = [
  'from', 'run', 'cmd', 'label', 'maintainer', 'expose', 'env', 'add', 'copy', 'entrypoint',
  'volume', 'user', 'workdir', 'arg', 'onbuild', 'stopsignal', 'healthcheck', 'shell',
]

const flagSpecs: Record<InstructionKind, FlagSpec> = {
  from: { platform: 'string' },
  run: { mount: 'list', network: 'string', security: 'string', device: 'list' },
  add: { chown: 'string', chmod: 'string', link: 'bool', 'keep-git-dir': 'bool', checksum: 'string', unpack: 'bool', exclude: 'list' },
  copy: { from: 'string', chown: 'string', chmod: 'string', link: 'bool', parents: 'bool', exclude: 'list' },
  healthcheck: { interval: 'string', timeout: 'string', 'start-period': 'string', 'start-interval': 'string', retries: 'string' },
  cmd: {}, label: {}, maintainer: {}, expose: {}, env: {}, entrypoint: {}, volume: {}, user: {},
  workdir: {}, arg: {}, onbuild: {}, stopsignal: {}, shell: {},
}

const fail = (message: string): never => { throw new InstructionSyntaxError(message) }
const upper = (kind: string): string => kind.toUpperCase()

function atLeastOne (node: AstNode): void {
  if (node.args.length === 0) fail(`${upper(node.value)} requires at least one argument`)
}
function exactlyOne (node: AstNode): string {
  if (node.args.length !== 1) fail(`${upper(node.value)} requires exactly one argument`)
  return node.args[0]!
}

/** Shell form joins its words back into one string, as BuildKit's handleJSONArgs does. */
function commandArgs (node: AstNode): string[] {
  return node.json ? node.args : node.args.length === 0 ? [] : [node.args.join(' ')]
}

function pairs (node: AstNode): KeyValue[] {
  atLeastOne(node)
  const out: KeyValue[] = []
  for (let i = 0; i + 1 < node.args.length; i += 3) {
    const key = node.args[i]!
    if (key === '') fail(`${upper(node.value)} names can not be blank`)
    out.push({ key, value: node.args[i + 1]! })
  }
  return out
}

function durationFlag (flags: ParsedFlags, name: string): number | undefined {
  const text = flags.string(name)
  if (text === undefined || text === '') return undefined
  const ns = parseDuration(text)
  if (ns === undefined) fail(`HEALTHCHECK: invalid duration for --${name}: ${JSON.stringify(text)}`)
  if (ns! < 0) fail(`HEALTHCHECK: --${name} cannot be negative`)
  if (ns! > 0 && ns! < 1e6) fail(`HEALTHCHECK: --${name} ${JSON.stringify(text)} cannot be less than 1ms`)
  return ns
}

function parseHealthcheck (node: AstNode, flags: ParsedFlags, base: { range: AstNode['range']; original: string }): HealthcheckInstruction {
  atLeastOne(node)
  const type = node.args[0]!.toUpperCase()
  if (type === 'NONE') {
    if (node.args.length !== 1) fail('HEALTHCHECK NONE takes no arguments')
    if (node.flags.length > 0) fail('HEALTHCHECK NONE takes no flags')
    return { kind: 'healthcheck', range: base.range, original: base.original, isNone: true, test: { args: [], json: false } }
  }
  if (type !== 'CMD') fail(`Unknown type ${JSON.stringify(node.args[0])} in HEALTHCHECK (try CMD)`)
  const rest = node.args.slice(1)
  if (rest.length === 0) fail('Missing command after HEALTHCHECK CMD')
  let retries: number | undefined
  const retriesText = flags.string('retries')
  if (retriesText !== undefined && retriesText !== '') {
    if (!/^[-+]?\d+$/.test(retriesText)) fail(`HEALTHCHECK: invalid --retries value ${JSON.stringify(retriesText)}`)
    retries = Number.parseInt(retriesText, 10)
    if (retries < 0) fail(`--retries cannot be negative (${retries})`)
  }
  return {
    kind: 'healthcheck',
    range: base.range, original: base.original,
    isNone: false,
    test: node.json ? { args: rest, json: true } : { args: [rest.join(' ')], json: false },
    interval: durationFlag(flags, 'interval'),
    timeout: durationFlag(flags, 'timeout'),
    startPeriod: durationFlag(flags, 'start-period'),
    startInterval: durationFlag(flags, 'start-interval'),
    retries,
  }
}

function sourcesAndDest (node: AstNode): { sources: string[]; sourceContents: SourceContent[]; dest: string } {
  const kind = upper(node.value)
  if (node.args.length < 2) fail(`${kind} requires at least two arguments, but only one was provided. Destination could not be determined`)
  const dest = node.args[node.args.length - 1]!
  const canHeredoc = !node.json
  if (canHeredoc && parseHeredocWord(dest) !== undefined) fail(`${kind} cannot accept a heredoc as a destination`)
  const sources: string[] = []
  const sourceContents: SourceContent[] = []
  for (let i = 0; i < node.args.length - 1; i++) {
    const src = node.args[i]!
    const doc = canHeredoc ? parseHeredocWord(src) : undefined
    if (doc === undefined) { sources.push(src); continue }
    const body = node.heredocs.find(h => h.name === doc.name)?.content ?? ''
    sourceContents.push({ path: doc.name, data: doc.chomp ? chompHeredocContent(body) : body, expand: doc.expand })
  }
  return { sources, sourceContents, dest }
}

function checkedChmod (flags: ParsedFlags): string | undefined {
  const chmod = flags.string('chmod')
  if (chmod !== undefined && !chmod.includes('$') && parseChmod(chmod) === undefined) {
    fail(`invalid --chmod value ${JSON.stringify(chmod)}: expected octal (0755) or symbolic (u+x,g-w)`)
  }
  return chmod
}

function oneOf<T extends string> (flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined
  if (!(allowed as readonly string[]).includes(value)) fail(`RUN: unsupported --${flag} value ${JSON.stringify(value)}, expected one of ${allowed.join(', ')}${didYouMean(value, allowed)}`)
  return value as T
}

function parseDevice (spec: string): RunDevice {
  const [name, ...opts] = spec.split(',')
  if (name === undefined || name === '') fail(`RUN: invalid --device ${JSON.stringify(spec)}: missing device name`)
  let isRequired = false
  for (const opt of opts) {
    const [k, v] = opt.split('=', 2)
    if (k !== 'required') fail(`RUN: unexpected key ${JSON.stringify(k)} in --device ${JSON.stringify(spec)}`)
    isRequired = v === undefined || v.toLowerCase() === 'true'
  }
  return { name: name!, isRequired }
}

function toInstruction (node: AstNode, kind: InstructionKind, onbuildDepth: number): Instruction {
  const flags = parseFlags(upper(kind), node.flags, flagSpecs[kind])
  const base = { range: node.range, original: node.original }
  switch (kind) {
    case 'from': {
      const n = node.args.length
      if (n !== 1 && !(n === 3 && node.args[1]!.toLowerCase() === 'as')) fail('FROM requires either one or three arguments')
      const from: Instruction = { kind, range: base.range, original: base.original, image: node.args[0]!, platform: flags.string('platform') }
      if (n === 3) {
        const name = node.args[2]!.toLowerCase()
        if (!/^[a-z][a-z0-9._-]*$/.test(name)) fail(`invalid name for build stage: ${JSON.stringify(node.args[2])}, name can't start with a number or contain symbols`)
        from.stageName = name
      }
      return from
    }
    case 'run': {
      if (node.args.length === 0) fail('RUN requires at least one argument')
      const mountSpecs = flags.list('mount')
      const run: RunInstruction = {
        kind, range: base.range, original: base.original, args: commandArgs(node), json: node.json,
        mountSpecs,
        mounts: mountSpecs.map(spec => parseRunMount(spec)),
        network: oneOf<RunNetwork>('network', flags.string('network'), ['default', 'none', 'host']),
        security: oneOf<RunSecurity>('security', flags.string('security'), ['sandbox', 'insecure']),
        devices: flags.list('device').map(parseDevice),
        heredocs: node.heredocs.map(h => h.chomp ? { ...h, content: chompHeredocContent(h.content) } : h),
      }
      return run
    }
    case 'cmd': case 'entrypoint': return { kind, range: base.range, original: base.original, args: commandArgs(node), json: node.json }
    case 'label': case 'env': return { kind, range: base.range, original: base.original, pairs: pairs(node) }
    case 'maintainer': return { kind, range: base.range, original: base.original, maintainer: exactlyOne(node) }
    case 'expose': atLeastOne(node); return { kind, range: base.range, original: base.original, ports: node.args }
    case 'add': {
      const { sources, sourceContents, dest } = sourcesAndDest(node)
      const add: AddInstruction = {
        kind, range: base.range, original: base.original, sources, sourceContents, dest, json: node.json,
        chown: flags.string('chown'), chmod: checkedChmod(flags), isLink: flags.bool('link') ?? false,
        excludes: flags.list('exclude'), keepGitDir: flags.bool('keep-git-dir') ?? false,
        checksum: flags.string('checksum'), unpack: flags.bool('unpack'),
      }
      return add
    }
    case 'copy': {
      const from = flags.string('from')
      if (from !== undefined && from.includes('$') && from.indexOf('$') !== from.length - 1) {
        fail("COPY --from doesn't support variable expansion, define an alias stage instead")
      }
      const { sources, sourceContents, dest } = sourcesAndDest(node)
      const copy: CopyInstruction = {
        kind, range: base.range, original: base.original, sources, sourceContents, dest, json: node.json,
        from, chown: flags.string('chown'), chmod: checkedChmod(flags), isLink: flags.bool('link') ?? false,
        isParents: flags.bool('parents') ?? false, excludes: flags.list('exclude'),
      }
      return copy
    }
    case 'volume':
      atLeastOne(node)
      if (node.args.some(a => a.trim() === '')) fail('VOLUME specified can not be an empty string')
      return { kind, range: base.range, original: base.original, paths: node.args }
    case 'user': return { kind, range: base.range, original: base.original, user: exactlyOne(node) }
    case 'workdir': return { kind, range: base.range, original: base.original, path: exactlyOne(node) }
    case 'stopsignal': return { kind, range: base.range, original: base.original, signal: exactlyOne(node) }
    case 'arg':
      atLeastOne(node)
      return {
        kind, range: base.range, original: base.original,
        args: node.args.map(a => {
          const eq = a.indexOf('=')
          if (eq === 0) fail('ARG names can not be blank')
          return eq < 0 ? { key: a } : { key: a.slice(0, eq), value: a.slice(eq + 1) }
        }),
      }
    case 'onbuild': {
      const trigger = node.next
      if (trigger === undefined) return fail('ONBUILD requires at least one argument')
      if (trigger.value === 'onbuild') fail('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed')
      if (trigger.value === 'from' || trigger.value === 'maintainer') fail(`${upper(trigger.value)} isn't allowed as an ONBUILD trigger`)
      const expression = node.original.trim().replace(/^\S+\s+/, '')
      return { kind, range: base.range, original: base.original, instruction: nodeToInstruction(trigger, onbuildDepth + 1), expression }
    }
    case 'healthcheck': return parseHealthcheck(node, flags, base)
    case 'shell': {
      if (node.args.length === 0) fail('SHELL requires at least one argument')
      if (!node.json) fail(`SHELL requires the arguments to be in JSON form, e.g. SHELL ["/bin/sh", "-c"]; got: ${node.original.trim()}`)
      return { kind, range: base.range, original: base.original, shell: node.args }
    }
  }
}

function nodeToInstruction (node: AstNode, onbuildDepth: number): Instruction {
  const kind = node.value as InstructionKind
  if (!instructionKinds.includes(kind)) {
    throw new UnknownInstructionError(`unknown instruction: ${node.original.trim().split(/\s/, 1)[0]}${didYouMean(node.value, instructionKinds.map(upper))}`)
  }
  return toInstruction(node, kind, onbuildDepth)
}

class UnknownInstructionError extends InstructionSyntaxError {}

/** Build the typed instruction for one AST node; user mistakes become DockerfileErrors located at the node. */
export function parseInstruction (node: AstNode, opts: { file?: string } = {}): Instruction {
  const file = opts.file ?? 'Dockerfile'
  try {
    return nodeToInstruction(node, 0)
  } catch (err) {
    if (!(err instanceof InstructionSyntaxError)) throw err
    const code: ErrorCode = err instanceof UnknownInstructionError ? 'UNKNOWN_INSTRUCTION' : 'INVALID_INSTRUCTION'
    throw new DockerfileError(code, `${file}:${node.range.start.line}: ${err.message}`, { file, ranges: [node.range] })
  }
}
