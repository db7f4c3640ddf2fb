/**
 * Checks that follow a stage's instructions in order, tracking what the
 * converter tracks: the variables in scope (base image env, ENV, ARG), the
 * working dir, SHELL, and the last CMD/ENTRYPOINT/HEALTHCHECK.
 */
import type { SourceRange } from '../../../common/errors.js'
import type { ShellLex } from '../shell/index.js'
import { suggest } from '../instructions/suggest.js'
import type { Linter } from './linter.js'
import type { CheckedNode, CheckedStage } from './syntaxRules.js'
import type { IgnoreMatcher } from './types.js'

/** What a stage hands to stages built FROM it. */
export interface StageScope {
  env: Map<string, string>
  /** ARGs declared in scope, with or without a value: never reported as undefined. */
  declared: Set<string>
  isShellSet: boolean
}

export interface StageCheckContext {
  lex: ShellLex
  globalEnv: ReadonlyMap<string, string>
  buildArgs: ReadonlyMap<string, string>
  dockerignore?: IgnoreMatcher
}

// Either the whole name or its first/last `_` word names a secret, unless another word says it is public.
const SECRET_WORD = /(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)(?:_|$)/i
const ALLOWED_WORD = /(?:_|^)(?:public|file|version)(?:_|$)/i

export function isSecretName (key: string): boolean {
  return SECRET_WORD.test(key) && !ALLOWED_WORD.test(key)
}

export function checkStage (ctx: StageCheckContext, st: CheckedStage, scope: StageScope): StageScope {
  const env = new Map(scope.env)
  const declared = new Set(scope.declared)
  let isShellSet = scope.isShellSet
  let isWorkdirSet = false
  const used = new Map<'cmd' | 'entrypoint' | 'healthcheck', SourceRange>()
  const rawLex = ctx.lex.with({ skipProcessQuotes: true })

  const expand = (lint: Linter, range: SourceRange, word: string, lex = ctx.lex): string | undefined => {
    let m
    try { m = lex.processWordWithMatches(word, env) } catch { return undefined }
    for (const name of m.unmatched) {
      if (declared.has(name)) continue
      const s = suggest(name, [...env.keys()])
      lint.report('UndefinedVar', range, `Usage of undefined variable '$${name}'${s !== undefined ? ` (did you mean $${s}?)` : ''}`)
    }
    return m.result
  }

  for (const c of st.commands) {
    const { instr, lint } = c
    const range = instr.range
    if ((instr.kind === 'env' || instr.kind === 'label') && c.node.args.length === 3 && c.node.args[2] === '') {
      const name = instr.kind.toUpperCase()
      lint.report('LegacyKeyValueFormat', c.node.range, `"${name} key=value" should be used instead of legacy "${name} key value" format`)
    }
    const onlyOnce = (kind: 'cmd' | 'entrypoint' | 'healthcheck'): void => {
      const previous = used.get(kind)
      // The earlier one is reported: it is the one that has no effect.
      if (previous !== undefined) lint.report('MultipleInstructionsDisallowed', previous, `Multiple ${kind.toUpperCase()} instructions should not be used in the same stage because only the last one will be used`)
      used.set(kind, range)
    }
    switch (instr.kind) {
      case 'env': {
        const values = instr.pairs.map(p => ({ key: expand(lint, range, p.key) ?? p.key, value: expand(lint, range, p.value) ?? p.value }))
        for (const { key, value } of values) {
          if (isSecretName(key)) lint.report('SecretsUsedInArgOrEnv', range, `Do not use ARG or ENV instructions for sensitive data (ENV ${JSON.stringify(key)})`)
          env.set(key, value)
        }
        break
      }
      case 'arg':
        for (const a of instr.args) {
          if (isSecretName(a.key)) lint.report('SecretsUsedInArgOrEnv', range, `Do not use ARG or ENV instructions for sensitive data (ARG ${JSON.stringify(a.key)})`)
          let value = ctx.buildArgs.get(a.key)
          if (value === undefined && a.value !== undefined) value = expand(lint, range, a.value) ?? ''
          if (value === undefined) value = ctx.globalEnv.get(a.key)
          if (value !== undefined) env.set(a.key, value)
          declared.add(a.key)
        }
        break
      case 'label':
        for (const p of instr.pairs) { expand(lint, range, p.key); expand(lint, range, p.value) }
        break
      case 'copy': case 'add': {
        const sources = instr.sources.map(s => expand(lint, range, s))
        expand(lint, range, instr.dest)
        if (instr.chown !== undefined) expand(lint, range, instr.chown)
        if (instr.chmod !== undefined) expand(lint, range, instr.chmod)
        if (instr.kind === 'copy' && instr.from !== undefined) break
        for (const s of sources) if (s !== undefined) checkIgnored(ctx.dockerignore, c, s)
        break
      }
      case 'workdir': {
        const path = expand(lint, range, instr.path) ?? instr.path
        if (!isWorkdirSet && !path.startsWith('/')) lint.report('WorkdirRelativePath', range, `Relative workdir ${JSON.stringify(path)} can have unexpected results if the base image changes`)
        isWorkdirSet = true
        break
      }
      case 'expose':
        for (const raw of instr.ports) {
          let ports: string[]
          try { ports = ctx.lex.processWords(raw, env) } catch { continue }
          expand(lint, range, raw)
          for (const port of ports) checkExposedPort(lint, range, port)
        }
        break
      case 'volume': for (const p of instr.paths) expand(lint, range, p); break
      case 'user': expand(lint, range, instr.user); break
      case 'stopsignal': expand(lint, range, instr.signal); break
      case 'run': for (const m of instr.mountSpecs) expand(lint, range, m, rawLex); break
      case 'shell': isShellSet = true; break
      case 'healthcheck': onlyOnce('healthcheck'); break
      case 'cmd': case 'entrypoint':
        onlyOnce(instr.kind)
        if (!instr.json && !isShellSet) lint.report('JSONArgsRecommended', range, `JSON arguments recommended for ${instr.kind.toUpperCase()} to prevent unintended behavior related to OS signals`)
        break
      default: break
    }
  }
  return { env, declared, isShellSet }
}

function checkIgnored (ignore: IgnoreMatcher | undefined, c: CheckedNode, source: string): void {
  // With `!` exceptions a directory may be excluded while files in it are not: too subtle to judge statically.
  if (ignore === undefined || ignore.patterns.some(p => p.trim().startsWith('!'))) return
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source) || source.startsWith('git@')) return
  const path = cleanPath(source)
  if (path === '.' || path === '/') {
    if (!ignore.patterns.some(p => ['*', '**', '**/*'].includes(p.trim()))) return
  }
  if (!ignore.matches(path.replace(/^\/+/, '') || '.')) return
  const verb = c.instr.kind === 'add' ? 'Add' : 'Copy'
  c.lint.report('CopyIgnoredFile', c.instr.range, `Attempting to ${verb} file ${JSON.stringify(path)} that is excluded by .dockerignore`)
}

/** Like Go's path.Clean. */
function cleanPath (p: string): string {
  const isAbs = p.startsWith('/')
  const out: string[] = []
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue
    if (part === '..') { if (out.length > 0 && out[out.length - 1] !== '..') out.pop(); else if (!isAbs) out.push('..'); continue }
    out.push(part)
  }
  const joined = out.join('/')
  return isAbs ? '/' + joined : joined === '' ? '.' : joined
}

/** `[ip:][hostPort:]containerPort[/proto]`. */
function checkExposedPort (lint: Linter, range: SourceRange, raw: string): void {
  const parts = raw.split(':')
  const container = parts[parts.length - 1]!
  const slash = container.indexOf('/')
  const proto = slash < 0 ? '' : container.slice(slash + 1)
  if (proto !== proto.toLowerCase()) lint.report('ExposeProtoCasing', range, `Defined protocol '${raw}' in EXPOSE instruction should be lowercase`)
  if (parts.length > 1) lint.report('ExposeInvalidFormat', range, `EXPOSE instruction should not define an IP address or host-port mapping, found '${raw}'`)
}
