import { describe, expect, test } from 'vitest'
import { formatSpec, generateSpec, type SpecMount, type SpecOptions } from './spec.js'

const base: SpecOptions = {
  args: ['sh'], env: [], cwd: '/', user: { uid: 0, gid: 0, additionalGids: [] }, hostname: 'h', network: 'default', security: 'sandbox', mounts: [],
}

const processOf = (spec: Record<string, unknown>) => spec['process'] as { rlimits: Array<{ type: string; soft: number | bigint; hard: number | bigint }> }
const mounts = (spec: Record<string, unknown>) => spec['mounts'] as SpecMount[]

describe('rlimits', () => {
  test.each([
    ['no ulimits: the default open-files limit', [], [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }]],
    ['nofile replaces the default', [{ name: 'nofile', soft: 512, hard: 2048 }], [{ type: 'RLIMIT_NOFILE', hard: 2048, soft: 512 }]],
    ['others come after it', [{ name: 'nproc', soft: 10, hard: 20 }, { name: 'core', soft: 0, hard: 0 }], [
      { type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }, { type: 'RLIMIT_NPROC', hard: 20, soft: 10 }, { type: 'RLIMIT_CORE', hard: 0, soft: 0 },
    ]],
    ['-1 is RLIM_INFINITY', [{ name: 'core', soft: 0, hard: -1 }], [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }, { type: 'RLIMIT_CORE', hard: 2n ** 64n - 1n, soft: 0 }]],
  ])('%s', (_name, ulimits, want) => {
    expect(processOf(generateSpec({ ...base, ulimits })).rlimits).toEqual(want)
  })

  test('config.json holds an unlimited limit as the exact uint64 runc reads', () => {
    const spec = generateSpec({ ...base, args: ['echo', '"tsbuild-uint64-x:1"'], ulimits: [{ name: 'core', soft: -1, hard: -1 }] })
    const text = formatSpec(spec)
    expect(text).toMatch(/"type": "RLIMIT_CORE",\s+"hard": 18446744073709551615,\s+"soft": 18446744073709551615/)
    const parsed = JSON.parse(text) as Record<string, unknown>
    expect((parsed['process'] as { args: string[] }).args).toEqual(['echo', '"tsbuild-uint64-x:1"'])
    // Everything else reads back as it was.
    const { process: _p, ...rest } = parsed
    const { process: _q, ...want } = spec
    expect(rest).toEqual(want)
  })
})

describe('mounts', () => {
  const shm: SpecMount = { destination: '/dev/shm', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777', `size=${128 * 2 ** 20}`] }

  test('the default /dev/shm is 64 MiB', () => {
    const found = mounts(generateSpec(base)).filter((m) => m.destination === '/dev/shm')
    expect(found).toHaveLength(1)
    expect(found[0]!.options).toContain('size=65536k')
  })

  test('a step\'s own /dev/shm replaces the default instead of stacking on it', () => {
    const found = mounts(generateSpec({ ...base, mounts: [shm] })).filter((m) => m.destination === '/dev/shm')
    expect(found).toEqual([shm])
  })

  test('other defaults stay, before the step\'s mounts', () => {
    const all = mounts(generateSpec({ ...base, mounts: [shm] })).map((m) => m.destination)
    expect(all).toEqual(['/proc', '/dev', '/dev/pts', '/dev/mqueue', '/sys', '/dev/shm'])
  })
})
