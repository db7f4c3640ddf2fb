import { describe, expect, test } from 'vitest'
import { sha256 } from '../common/digest.js'
import * as llb from './index.js'
import type { Definition, Op } from './index.js'

const built = llb.merge([
  llb.image('alpine').run({ args: ['sh', '-c', 'make'], mounts: [llb.mount('/out', llb.scratch())] }).getMount('/out'),
  llb.scratch().file(llb.mkdir('/a', 0o755).copy(llb.local('context'), '/x', '/a/')),
]).marshal({ platform: 'linux/amd64' })

describe('outputCount and vertexName', () => {
  test('exec counts its mounts with outputs; other kinds have one', () => {
    const counts = [...built.ops.values()].map((op) => [op.kind, llb.outputCount(op)])
    expect(counts).toEqual([['source', 1], ['exec', 2], ['source', 1], ['file', 1], ['merge', 1]])
  })

  test('names default to a summary and prefer the custom name', () => {
    const names = [...built.ops.values()].map((op) => llb.vertexName(op))
    expect(names).toEqual(['docker-image://docker.io/library/alpine:latest', 'sh -c make', 'local://context', 'mkdir /a, copy /x /a/', 'merge (2 inputs)'])
    expect(llb.vertexName(built.ops.get(built.head!.digest)!, { customName: '[2/3] COPY' })).toBe('[2/3] COPY')
  })
})

describe('validateDefinition', () => {
  test('builder output is valid', () => {
    expect(() => llb.validateDefinition(built)).not.toThrow()
    expect(() => llb.validateDefinition(llb.mergeDefinitions([built, built]))).not.toThrow()
  })

  const [imageDigest, imageOp] = [...built.ops][0]!
  const withOp = (op: Op, head = 0): Definition => {
    const d = llb.digestOf(op)
    return { ops: new Map([[imageDigest, imageOp], [d, op]]), metadata: new Map(), head: { digest: d, index: head } }
  }
  const exec: Op = {
    kind: 'exec', inputs: [{ digest: imageDigest, index: 0 }], network: 'default', security: 'sandbox',
    meta: { args: ['true'], env: [], cwd: '/', user: '', extraHosts: [], secretEnv: [] },
    mounts: [{ type: 'bind', dest: '/', input: 0, output: 0, readonly: false }],
  }
  test.each([
    ['unknown input vertex', { ...exec, inputs: [{ digest: sha256('nope'), index: 0 }] }, /not an earlier vertex/],
    ['input output out of range', { ...exec, inputs: [{ digest: imageDigest, index: 1 }] }, /has 1/],
    ['mount input out of range', { ...exec, mounts: [{ type: 'bind', dest: '/', input: 3, output: 0, readonly: false }] }, /mount \/ input 3/],
    ['no root mount', { ...exec, mounts: [{ type: 'bind', dest: '/x', input: 0, output: 0, readonly: false }] }, /no root mount/],
    ['gap in outputs', { ...exec, mounts: [{ type: 'bind', dest: '/', input: 0, output: 1, readonly: false }] }, /numbered/],
    ['file action refers forward', {
      kind: 'file', inputs: [], actions: [{ input: 0, secondaryInput: -1, output: 0, action: { type: 'rm', path: '/x', allowNotFound: true, allowWildcard: false } }],
    }, /action 0 input 0/],
    ['diff index out of range', { kind: 'diff', inputs: [], lower: 0, upper: -1 }, /lower 0/],
  ] as Array<[string, Op, RegExp]>)('%s', (_, op, msg) => {
    expect(() => llb.validateDefinition(withOp(op))).toThrow(msg)
  })

  test('a head that is not an output is invalid', () => {
    expect(() => llb.validateDefinition(withOp(exec, 1))).toThrow(/head/)
  })
})
