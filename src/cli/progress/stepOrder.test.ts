import { expect, test } from 'vitest'
import type { Digest } from '../../common/digest.js'
import type { SolveEvent } from '../../solver/events.js'
import { CachedStepOrder, inStepOrder } from './stepOrder.js'

const cached = (name: string): SolveEvent => ({ type: 'vertex', digest: `sha256:${name}` as Digest, name, status: 'cached', time: 0 })
const names = (events: SolveEvent[]): string[] => events.map((e) => e.type === 'vertex' ? `${e.name} ${e.status}` : e.type)

test.each([
  ['a hit before the steps below it', ['[4/4] D', '[1/4] A', '[2/4] B', '[3/4] C'], ['[1/4] A', '[2/4] B', '[3/4] C', '[4/4] D']],
  ['stages keep their interleaving, each in step order', ['[final 2/3] B', '[left 2/2] L2', '[left 1/2] L', '[final 1/3] A', '[right 1/2] R', '[final 3/3] C'],
    ['[final 1/3] A', '[left 1/2] L', '[left 2/2] L2', '[final 2/3] B', '[right 1/2] R', '[final 3/3] C']],
  ['steps without a position keep their place', ['[2/2] B', '[internal] load metadata', '[1/2] A'], ['[1/2] A', '[internal] load metadata', '[2/2] B']],
])('inStepOrder: %s', (_name, input, want) => {
  expect(inStepOrder(input.map((name) => ({ name }))).map((e) => e.name)).toEqual(want)
})

test('CachedStepOrder holds a run of cached steps until another event or flush, then releases it in order', () => {
  const out: SolveEvent[] = []
  const o = new CachedStepOrder((e) => out.push(e))
  o.handle(cached('[3/3] C'))
  o.handle(cached('[1/3] A'))
  expect(out).toEqual([])
  o.handle({ type: 'vertex', digest: 'sha256:x' as Digest, name: '[2/3] B', status: 'started', time: 1 })
  o.handle(cached('[9/9] Z'))
  expect(names(out)).toEqual(['[1/3] A cached', '[3/3] C cached', '[2/3] B started'])
  o.flush()
  expect(names(out).at(-1)).toBe('[9/9] Z cached')
})
