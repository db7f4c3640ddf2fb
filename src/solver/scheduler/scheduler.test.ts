import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { sha256, type Digest } from '../../common/digest.js'
import { TsbuildError } from '../../common/errors.js'
import { FileRecordStore } from '../../cache/records/index.js'
import type { SolveEvent } from '../events.js'
import { Scheduler } from './scheduler.js'
import type { OpRunner, Result, SolverVertex } from './types.js'

/** A fake op that counts its calls (BuildKit's vtx() test helper). */
function vtx (name: string, inputs: SolverVertex[] = [], opts: { sleep?: number; fail?: boolean; content?: () => string; ignoreCache?: boolean; stats?: { running: number; max: number } } = {}) {
  const calls = { cacheMap: 0, exec: 0, cancelled: 0 }
  const op: OpRunner = {
    resource: 'exec',
    async cacheMap () {
      calls.cacheMap++
      return { digest: sha256(`op:${name}`), deps: inputs.map(() => (opts.content ? { computeDigest: async () => sha256(opts.content!()) } : {})) }
    },
    async exec (ctx, ins) {
      calls.exec++
      const s = opts.stats
      if (s) { s.running++; s.max = Math.max(s.max, s.running) }
      try {
        if (opts.sleep) {
          await new Promise<void>((resolve, reject) => {
            const t = setTimeout(resolve, opts.sleep)
            ctx.signal.addEventListener('abort', () => { clearTimeout(t); calls.cancelled++; reject(new TsbuildError('CANCELLED', 'cancelled')) }, { once: true })
          })
        }
        if (opts.fail) throw new TsbuildError('EXEC_FAILED', `${name} failed`)
        return { layers: [`${name}(${ins.map((i) => i.layers?.[0]).join(',')})`] }
      } finally { if (s) s.running-- }
    },
    load: (rec) => ({ layers: rec.layers }) as Result,
  }
  const v: SolverVertex = { digest: sha256(`v:${name}:${inputs.map((i) => i.digest).join()}`) as Digest, name, inputs, op, ignoreCache: opts.ignoreCache ?? false }
  return { v, calls }
}

async function newScheduler (opts: { maxParallelism?: number } = {}) {
  const root = await mkdtemp(join(tmpdir(), 'sched-'))
  const records = new FileRecordStore(root)
  const events: SolveEvent[] = []
  const make = () => new Scheduler({ records, emit: (e) => events.push(e), ...opts })
  return { make, events, records }
}

describe('Scheduler', () => {
  test('a vertex shared by two heads runs once; a rebuild is fully cached and solves no input', async () => {
    const { make, events } = await newScheduler()
    const base = vtx('base')
    const a = vtx('a', [base.v])
    const b = vtx('b', [base.v])
    const [ra, rb] = await make().solve([a.v, b.v])
    expect(ra!.result.layers?.[0]).toBe('a(base())')
    expect(rb!.result.layers?.[0]).toBe('b(base())')
    expect([base.calls.exec, a.calls.exec, b.calls.exec]).toEqual([1, 1, 1])

    events.length = 0
    const again = await make().solve([a.v, b.v])
    expect(again.every((r) => r.cached)).toBe(true)
    expect(again.map((r) => r.result.layers?.[0])).toEqual(['a(base())', 'b(base())'])
    expect([base.calls.exec, a.calls.exec, b.calls.exec]).toEqual([1, 1, 1])
    // base was neither loaded nor run, yet it reports CACHED like every step of a no-op rebuild
    expect(events.filter((e) => e.type === 'vertex').map((e) => `${(e as { name: string }).name}:${(e as { status: string }).status}`).sort()).toEqual(['a:cached', 'b:cached', 'base:cached'])
  })

  test('content deps: a changed checksum re-runs exactly the dependent chain', async () => {
    const { make } = await newScheduler()
    let content = 'v1'
    const ctx = vtx('context')
    ;(ctx.v.op as { noCache?: boolean }).noCache = true
    const copy = vtx('copy', [ctx.v], { content: () => content })
    const run = vtx('run', [copy.v])
    await make().solve([run.v])
    await make().solve([run.v])
    expect([copy.calls.exec, run.calls.exec]).toEqual([1, 1])
    content = 'v2'
    await make().solve([run.v])
    expect([copy.calls.exec, run.calls.exec]).toEqual([2, 2])
    content = 'v1'
    const back = await make().solve([run.v])
    expect(back[0]!.cached).toBe(true)
  })

  test('bounded parallelism for exec ops', async () => {
    const { make } = await newScheduler({ maxParallelism: 2 })
    const stats = { running: 0, max: 0 }
    const leaves = ['x', 'y', 'z', 'w'].map((n) => vtx(n, [], { sleep: 50, stats }))
    await make().solve(leaves.map((l) => l.v))
    expect(stats.max).toBe(2)
  })

  test('twenty steps waiting for two slots print no listener warning', async () => {
    const { make } = await newScheduler({ maxParallelism: 2 })
    const warnings: string[] = []
    const onWarning = (w: Error): void => { warnings.push(w.name) }
    process.on('warning', onWarning)
    try {
      const leaves = Array.from({ length: 20 }, (_, i) => vtx(`wide-${i}`, [], { sleep: 5 }))
      await make().solve(leaves.map((l) => l.v))
      await new Promise((resolve) => setImmediate(resolve)) // warnings are emitted on a later tick
    } finally {
      process.off('warning', onWarning)
    }
    expect(warnings).not.toContain('MaxListenersExceededWarning')
  })

  test('independent vertices run at the same time', async () => {
    const { make } = await newScheduler({ maxParallelism: 4 })
    const stats = { running: 0, max: 0 }
    const leaves = ['p', 'q', 'r'].map((n) => vtx(n, [], { sleep: 100, stats }))
    const join_ = vtx('join', leaves.map((l) => l.v))
    await make().solve([join_.v])
    expect(stats.max).toBe(3)
  })

  test('a failure surfaces its own error and cancels in-flight siblings before returning', async () => {
    const { make, events } = await newScheduler({ maxParallelism: 4 })
    const slow = vtx('slow', [], { sleep: 5000 })
    const bad = vtx('bad', [], { sleep: 20, fail: true })
    const after = vtx('after', [slow.v, bad.v])
    await expect(make().solve([after.v])).rejects.toThrow('bad failed')
    expect(slow.calls.cancelled).toBe(1)
    expect(after.calls.exec).toBe(0)
    const statuses = events.filter((e) => e.type === 'vertex').map((e) => `${(e as { name: string }).name}:${(e as { status: string }).status}`)
    expect(statuses).toContain('bad:error')
    expect(statuses).toContain('slow:cancelled')
  })

  test('ignoreCache re-runs a vertex but keeps its key', async () => {
    const { make } = await newScheduler()
    const a = vtx('a')
    await make().solve([a.v])
    const forced = { ...a.v, ignoreCache: true }
    const [r] = await make().solve([forced])
    expect(r!.cached).toBe(false)
    expect(a.calls.exec).toBe(2)
  })

  describe('a vertex that ignores the cache forces what is built on it to run', () => {
    // FROM img AS base / RUN (baseRun); FROM img / COPY --from=base (copy) / RUN (run);
    // a second head (other) on img stands for a stage that does not use base.
    function graph (ignored: ReadonlySet<string>) {
      const make = (name: string, inputs: SolverVertex[] = []) => vtx(name, inputs, { ignoreCache: ignored.has(name) }).v
      const img = make('img')
      const mid = make('mid', [img])
      const other = make('other', [mid])
      const baseRun = make('baseRun', [img])
      const copy = make('copy', [img, baseRun])
      const run = make('run', [copy])
      return { heads: [run, other], all: [img, mid, other, baseRun, copy, run] }
    }
    const started = (events: SolveEvent[]) => events.flatMap((e) => (e.type === 'vertex' && e.status === 'started' ? [`${e.name}: ${e.missReason ?? ''}`] : []))
    const cached = (events: SolveEvent[]) => events.flatMap((e) => (e.type === 'vertex' && e.status === 'cached' ? [e.name] : [])).sort()

    test.each([
      { filter: ['baseRun'], ran: ['baseRun: cache disabled (--no-cache)', 'copy: parent step re-ran', 'run: parent step re-ran'], hit: ['img', 'mid', 'other'] },
      { filter: ['copy'], ran: ['copy: cache disabled (--no-cache)', 'run: parent step re-ran'], hit: ['baseRun', 'img', 'mid', 'other'] },
      { filter: ['run'], ran: ['run: cache disabled (--no-cache)'], hit: ['baseRun', 'copy', 'img', 'mid', 'other'] },
      { filter: ['mid'], ran: ['mid: cache disabled (--no-cache)', 'other: parent step re-ran'], hit: ['baseRun', 'copy', 'img', 'run'] },
      { filter: ['img', 'mid', 'other', 'baseRun', 'copy', 'run'], ran: ['baseRun: cache disabled (--no-cache)', 'copy: cache disabled (--no-cache)', 'img: cache disabled (--no-cache)', 'mid: cache disabled (--no-cache)', 'other: cache disabled (--no-cache)', 'run: cache disabled (--no-cache)'], hit: [] },
    ])('ignoring $filter', async ({ filter, ran, hit }) => {
      const { make, events } = await newScheduler()
      await make().solve(graph(new Set()).heads)
      events.length = 0
      const solved = await make().solve(graph(new Set(filter)).heads)
      expect(started(events).sort()).toEqual(ran)
      expect(cached(events)).toEqual(hit)
      expect(solved.map((s) => s.cached)).toEqual([!ran.some((r) => r.startsWith('run:')), !ran.some((r) => r.startsWith('other:'))])
      // What re-ran wrote its record under the usual key: a normal build hits everything again.
      events.length = 0
      const again = await make().solve(graph(new Set()).heads)
      expect(started(events)).toEqual([])
      expect(again.every((s) => s.cached)).toBe(true)
    })

    test('a forced step is told to explainMiss as such, and its reason is the parent that re-ran', async () => {
      const { make, records } = await newScheduler()
      await make().solve(graph(new Set()).heads)
      const events: SolveEvent[] = []
      const asked: string[] = []
      await new Scheduler({
        records, emit: (e) => events.push(e),
        explainMiss: (v, c) => { asked.push(`${v.name} ${c.parentRan} ${c.isForcedByParent}`); return v.ignoreCache ? '--no-cache' : 'cache record was removed' },
      }).solve(graph(new Set(['baseRun'])).heads)
      expect(asked.sort()).toEqual(['baseRun false false', 'copy true true', 'run true true'])
      expect(started(events).sort()).toEqual(['baseRun: --no-cache', 'copy: parent step re-ran', 'run: parent step re-ran'])
    })

    test('isSkippedSolved: every step is handed to onSolved once, forced ones as run', async () => {
      const { make, records } = await newScheduler()
      await make().solve(graph(new Set()).heads)
      const solved = new Map<string, boolean[]>()
      await new Scheduler({
        records, emit: () => {}, isSkippedSolved: true,
        onSolved: (v, s) => solved.set(v.name, [...(solved.get(v.name) ?? []), s.cached]),
      }).solve(graph(new Set(['baseRun'])).heads)
      expect(Object.fromEntries(solved)).toEqual({ img: [true], mid: [true], other: [true], baseRun: [false], copy: [false], run: [false] })
    })
  })

  test('an aborted signal cancels the solve', async () => {
    const ac = new AbortController()
    const s = new Scheduler({ records: (await newScheduler()).records, emit: (e) => {
      // Abort once the step is really running, however slow the machine is.
      if (e.type === 'vertex' && e.status === 'started') setTimeout(() => ac.abort(new Error('interrupted by SIGINT')), 10)
    }, signal: ac.signal })
    const slow = vtx('slow2', [], { sleep: 5000 })
    await expect(s.solve([slow.v])).rejects.toThrow(/interrupted by SIGINT|cancelled/)
    expect(slow.calls.cancelled).toBe(1)
  })

  test('explanation hooks: every key is reported with its deps, a step about to run takes its miss reason from explainMiss', async () => {
    const { records } = await newScheduler()
    const base = vtx('base')
    const top = vtx('top', [base.v])
    const keys: Array<{ name: string; deps: number }> = []
    const events: SolveEvent[] = []
    const s = new Scheduler({
      records, emit: (e) => events.push(e),
      onKey: (v, k) => keys.push({ name: v.name, deps: k.deps.length }),
      explainMiss: (v, c) => (v.name === 'top' ? `because (parent ran: ${c.parentRan})` : undefined),
    })
    await s.solve([top.v])
    expect(keys.sort((a, b) => a.name.localeCompare(b.name))).toEqual([{ name: 'base', deps: 0 }, { name: 'top', deps: 1 }])
    const started = events.flatMap((e) => (e.type === 'vertex' && e.status === 'started' ? [`${e.name}: ${e.missReason ?? ''}`] : []))
    expect(started.sort()).toEqual(['base: no cache record for this step', 'top: because (parent ran: true)'])
  })
})
