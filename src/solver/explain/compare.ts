import { changedFiles } from './files.js'
import { instructionOf, type StepFacts } from './facts.js'

export interface FactChange { what: string; old?: string; new?: string }

export interface MissReason {
  /** One short line for the progress output. */
  summary: string
  changes: FactChange[]
}

export interface CompareContext {
  /** Build args (declared by ARG, or set with --build-arg); an env difference under such a name is a build arg change. */
  buildArgs: ReadonlySet<string>
  ignoreCache: boolean
  /** Whether any input of the step ran in this build (rather than hitting the cache). */
  parentRan: boolean
  /** Whether there was any earlier build of this Dockerfile and target at all. */
  hadPreviousBuild: boolean
  /** A step below it ignores the cache (`--no-cache-filter`), so this one runs too. */
  isForcedByParent?: boolean
  /** Steps ignore the cache because of `--no-cache-filter`, not `--no-cache`. */
  isNoCacheFilter?: boolean
  /** Caches are imported (`--cache-from`), as on a CI runner that starts empty. */
  hasImportedCache?: boolean
}

const FILES_SHOWN = 3

/** Args every build defines (platforms, proxies): in a step's env they came from an ARG, never an ENV. */
const AUTOMATIC_ARG = /^(?:(?:TARGET|BUILD)(?:PLATFORM|OS|ARCH|VARIANT)|(?:HTTPS?|FTP|NO|ALL)_PROXY|(?:https?|ftp|no|all)_proxy)$/

/**
 * Why `cur` missed the cache, given the same step's facts from the last
 * build (`prev`). The step's own inputs are named first (base image, files,
 * build args, the instruction), then its parents.
 */
export function explainMiss (prev: StepFacts | undefined, cur: StepFacts, ctx: CompareContext): MissReason {
  if (ctx.ignoreCache) return { summary: ctx.isNoCacheFilter === true ? '--no-cache-filter' : '--no-cache', changes: [] }
  if (ctx.isForcedByParent === true && (prev === undefined || prev.key === cur.key)) return { summary: 'parent step re-ran', changes: [] }
  if (prev === undefined) {
    if (ctx.hadPreviousBuild) return { summary: 'new step (not in the last build)', changes: [] }
    // A runner that starts empty has no build of its own to compare with, but the imported cache was asked.
    if (ctx.hasImportedCache === true) return { summary: ctx.parentRan ? 'parent step re-ran' : 'no cache record here or in the imported cache', changes: [] }
    return { summary: 'first build', changes: [] }
  }
  if (prev.key === cur.key) {
    return { summary: prev.incomplete === true ? 'the last build did not finish this step (it failed or was cancelled)' : 'cache record was removed since the last build (prune or garbage collection)', changes: [] }
  }

  // The same step number now holds another instruction (RUN became COPY): its facts are not comparable.
  const [prevInstruction, curInstruction] = [instructionOf(prev.facts['cmd']), instructionOf(cur.facts['cmd'])]
  if (prevInstruction !== undefined && curInstruction !== undefined && prevInstruction !== curInstruction) {
    return { summary: 'instruction changed', changes: [{ what: 'instruction', ...optional(prev.facts['cmd'], cur.facts['cmd']) }] }
  }
  const changes: FactChange[] = []
  const summaries: string[] = []
  const image = diff(prev.facts['image'], cur.facts['image'])
  if (image !== undefined) {
    changes.push({ what: 'base image', ...image })
    summaries.push(`base image digest changed (${shortImage(image.old)} → ${shortImage(image.new)})`)
  }
  // `files:SRC` lists what a COPY selects, `mounted:SRC` what a bind mount of the context exposes.
  for (const k of unionKeys(prev.facts, cur.facts).filter((k) => /^(files|mounted):/.test(k))) {
    const before = parseListing(prev.facts[k])
    const after = parseListing(cur.facts[k])
    const files = changedFiles(before, after)
    if (files.length === 0) continue
    // As the Dockerfile writes it: relative to the context, `.` for all of it.
    const src = k.slice(k.indexOf(':') + 1).replace(/^\/+/, '') || '.'
    for (const f of files) changes.push({ what: `file ${f}`, ...optional(before[f], after[f]) })
    const shown = files.slice(0, FILES_SHOWN).join(', ')
    // Named as written: ADD and COPY select files alike.
    const where = k.startsWith('mounted:') ? `the bind mount of ${src}` : `${curInstruction === 'ADD' ? 'ADD' : 'COPY'} ${src}`
    summaries.push(`files changed under ${where}: ${shown}${files.length > FILES_SHOWN ? ` (+${files.length - FILES_SHOWN} more)` : ''}`)
  }
  for (const k of unionKeys(prev.facts, cur.facts).filter((k) => k.startsWith('heredoc:') && prev.facts[k] !== cur.facts[k])) {
    const name = k.slice('heredoc:'.length).replace(/^\/+/, '')
    changes.push({ what: `heredoc <<${name}`, ...optional(prev.facts[k], cur.facts[k]) })
    summaries.push(`heredoc <<${name} changed`)
  }
  const envKeys = unionKeys(prev.facts, cur.facts).filter((k) => k.startsWith('env:') && prev.facts[k] !== cur.facts[k])
  for (const k of envKeys) {
    const name = k.slice('env:'.length)
    const isArg = ctx.buildArgs.has(name) || AUTOMATIC_ARG.test(name)
    changes.push({ what: isArg ? `build arg ${name}` : `ENV ${name}`, ...optional(prev.facts[k], cur.facts[k]) })
    summaries.push(isArg ? `build arg ${name} changed` : `ENV ${name} changed`)
  }
  // A RUN whose own text changed is explained by that, even when the change was to its own /dev/shm mount.
  const isTextChanged = prev.facts['cmd'] !== cur.facts['cmd']
  const other = unionKeys(prev.facts, cur.facts).filter((k) => !/^(image|cmd|env:|files:|mounted:|heredoc:)/.test(k) && prev.facts[k] !== cur.facts[k] && !(isTextChanged && k.startsWith('--')))
  for (const k of other) {
    changes.push({ what: k, ...optional(prev.facts[k], cur.facts[k]) })
    summaries.push(`${k} changed`)
  }
  if (prev.op !== cur.op && summaries.length === 0) {
    changes.push({ what: 'instruction', ...optional(prev.facts['cmd'], cur.facts['cmd']) })
    summaries.push('instruction changed')
  }
  if (summaries.length === 0 && prev.inputs.join() !== cur.inputs.join()) {
    const changed = cur.inputs.flatMap((k, i) => (prev.inputs[i] !== k ? [cur.inputNames[i] ?? `input ${i}`] : []))
    for (const n of changed) changes.push({ what: `parent ${n}` })
    summaries.push(ctx.parentRan ? 'parent step re-ran' : 'parent step changed')
  }
  if (summaries.length === 0) summaries.push('cache key changed')
  return { summary: summaries.join('; '), changes }
}

function diff (a: string | undefined, b: string | undefined): { old?: string; new?: string } | undefined {
  return a === b ? undefined : optional(a, b)
}

function optional (a: string | undefined, b: string | undefined): { old?: string; new?: string } {
  return { ...(a !== undefined ? { old: a } : {}), ...(b !== undefined ? { new: b } : {}) }
}

function unionKeys (a: Record<string, string>, b: Record<string, string>): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()
}

function parseListing (text: string | undefined): Record<string, string> {
  if (text === undefined) return {}
  try { return JSON.parse(text) as Record<string, string> } catch { return {} }
}

/** `ref@sha256:0123456789ab…` shortened to the digest's first 12 hex digits. */
function shortImage (ref: string | undefined): string {
  if (ref === undefined) return 'none'
  const at = ref.lastIndexOf('@sha256:')
  return at === -1 ? ref : ref.slice(at + 1, at + 1 + 'sha256:'.length + 12)
}
