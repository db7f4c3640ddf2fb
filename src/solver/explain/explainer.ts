import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { canonicalJson, sha256, type Digest } from '../../common/digest.js'
import type { Op } from '../../llb/index.js'
import type { KeyFacts, SolverVertex } from '../scheduler/index.js'
import { explainMiss, type FactChange } from './compare.js'
import { inlineDocumentFacts, opFacts, stepIdentity, type StepFacts } from './facts.js'

/** Which builds compare with each other: the same Dockerfile, target and platforms. */
export interface BuildIdentity {
  dockerfile: string
  target?: string
  platforms: string[]
}

/** The reason given for steps that are never cached (loading a local context): not worth a progress line. */
export const NEVER_CACHED = 'never cached (runs on every build)'

export interface StepExplanation {
  step: string
  name: string
  status: 'cached' | 'ran'
  /** Why it ran (absent for hits). */
  reason?: string
  changes: FactChange[]
}

interface FactSheet { identity: BuildIdentity; time: string; steps: StepFacts[] }

/**
 * Cache-miss explanations for one build. It collects each step's facts as
 * its cache key is computed, compares a step that is about to run with the
 * same step of the last build of this Dockerfile and target, and at the end
 * stores this build's facts in `<stateDir>/explain/<identity>.json` for the
 * next one. One file per identity, replaced atomically; the last build wins.
 */
export interface ExplainerOptions {
  buildArgs: ReadonlySet<string>
  ops: ReadonlyMap<Digest, Op>
  /** The steps that ignore the cache do so because of `--no-cache-filter` (not `--no-cache`). */
  isNoCacheFilter?: boolean
  /** Caches are imported (`--cache-from`): a miss with no earlier build here is not a first build. */
  hasImportedCache?: boolean
}

export class Explainer {
  private readonly current = new Map<Digest, StepFacts>()
  private readonly reasons = new Map<Digest, { summary: string; changes: FactChange[] }>()
  private readonly cached = new Set<Digest>()
  private readonly completed = new Set<Digest>()
  private readonly previous: Map<string, StepFacts[]>

  private constructor (
    private readonly file: string,
    private readonly identity: BuildIdentity,
    private readonly prev: FactSheet | undefined,
    private readonly opts: ExplainerOptions,
  ) {
    this.previous = new Map()
    for (const s of prev?.steps ?? []) this.previous.set(s.step, [...(this.previous.get(s.step) ?? []), s])
  }

  static async open (stateDir: string, identity: BuildIdentity, opts: ExplainerOptions): Promise<Explainer> {
    const file = join(stateDir, 'explain', `${sha256(canonicalJson(identity)).slice(7)}.json`)
    let prev: FactSheet | undefined
    try { prev = JSON.parse(await readFile(file, 'utf8')) as FactSheet } catch { /* first build of this identity */ }
    return new Explainer(file, identity, prev, opts)
  }

  /** Scheduler hook: a vertex's cache key and what it was made of. */
  onKey (v: SolverVertex, k: KeyFacts): void {
    this.current.set(v.digest, {
      step: stepIdentity(v.name),
      name: v.name,
      key: k.key,
      op: k.op,
      inputs: k.deps.map((d) => d.content ?? d.key ?? ''),
      inputNames: v.inputs.map((i) => i.name),
      // What a heredoc input holds is a fact of the step that reads it, as the instruction's text is.
      facts: { ...opFacts(this.opts.ops.get(v.digest), v.name), ...Object.assign({}, ...v.inputs.map((i) => inlineDocumentFacts(this.opts.ops.get(i.digest)))), ...(k.explain ?? {}) },
    })
  }

  /** Scheduler hook: the short reason a vertex about to run missed the cache. */
  missReason (v: SolverVertex, ctx: { parentRan: boolean; isForcedByParent?: boolean }): string | undefined {
    const cur = this.current.get(v.digest)
    if (cur === undefined) return undefined
    if (v.op.noCache === true) {
      this.reasons.set(v.digest, { summary: NEVER_CACHED, changes: [] })
      return this.reasons.get(v.digest)!.summary
    }
    const reason = explainMiss(this.previousOf(cur), cur, {
      buildArgs: this.opts.buildArgs, ignoreCache: v.ignoreCache, parentRan: ctx.parentRan, hadPreviousBuild: this.prev !== undefined,
      isForcedByParent: ctx.isForcedByParent ?? false, isNoCacheFilter: this.opts.isNoCacheFilter ?? false, hasImportedCache: this.opts.hasImportedCache ?? false,
    })
    this.reasons.set(v.digest, reason)
    return reason.summary
  }

  markCached (digest: Digest): void {
    this.cached.add(digest)
  }

  /** Scheduler hook: the step has its result (it ran to the end, or hit the cache). */
  markCompleted (digest: Digest): void {
    this.completed.add(digest)
  }

  /** Every step seen in this build, in the order their keys were computed. */
  explanations (): StepExplanation[] {
    const out: StepExplanation[] = []
    for (const [digest, s] of this.current) {
      const reason = this.reasons.get(digest)
      if (reason === undefined && !this.cached.has(digest)) continue // neither hit nor ran: its result was not needed
      out.push({ step: s.step, name: s.name, status: reason === undefined ? 'cached' : 'ran',
        ...(reason !== undefined ? { reason: reason.summary } : {}), changes: reason?.changes ?? [] })
    }
    return out
  }

  /** When the compared-with build happened (undefined for a first build). */
  get previousBuildTime (): string | undefined { return this.prev?.time }

  async save (): Promise<void> {
    // Steps this build never reached (it failed first) keep their last known facts.
    const seen = new Set([...this.current.values()].map((c) => c.step))
    const kept = (this.prev?.steps ?? []).filter((p) => !seen.has(p.step))
    const current = [...this.current].map(([digest, s]) => (this.reasons.has(digest) && !this.completed.has(digest) ? { ...s, incomplete: true } : s))
    const sheet: FactSheet = { identity: this.identity, time: new Date().toISOString(), steps: [...current, ...kept] }
    await mkdir(join(this.file, '..'), { recursive: true })
    const tmp = `${this.file}.${process.pid}-${randomBytes(4).toString('hex')}`
    await writeFile(tmp, JSON.stringify(sheet))
    await rename(tmp, this.file)
  }

  private previousOf (cur: StepFacts): StepFacts | undefined {
    const candidates = this.previous.get(cur.step)
    if (candidates === undefined) return undefined
    // Steps that share a name (each heredoc's `[internal] preparing inline document`): the one with the same facts named.
    const names = Object.keys(cur.facts).sort().join('\0')
    return candidates.find((c) => c.key === cur.key) ?? candidates.find((c) => c.op === cur.op) ??
      candidates.find((c) => Object.keys(c.facts).sort().join('\0') === names) ?? candidates[0]
  }
}
