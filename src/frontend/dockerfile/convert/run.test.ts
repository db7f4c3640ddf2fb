import { describe, expect, test } from 'vitest'
import type { Definition, ExecOp, Op, Ulimit } from '../../../llb/index.js'
import { convertDockerfile } from './convert.js'
import { request } from './testing.js'

const ops = (def: Definition): Op[] => [...def.ops.values()]
const execs = (def: Definition): ExecOp[] => ops(def).filter((o): o is ExecOp => o.kind === 'exec')

async function convert1 (text: string, opts: Parameters<typeof request>[1] = {}): Promise<Definition> {
  return (await convertDockerfile(request(text, opts))).platforms[0]!.definition
}

const ULIMITS: Ulimit[] = [{ name: 'nofile', soft: 512, hard: 1024 }, { name: 'core', soft: -1, hard: -1 }]
const FLAGS = { extraHosts: [{ host: 'foo', ip: '10.1.2.3' }], shmSize: 128 * 2 ** 20, ulimits: ULIMITS }

// Two stages, a heredoc script (its own internal file op and /dev/pipes mount), a COPY --from and a WORKDIR:
// only the three RUNs are exec ops.
const DOCKERFILE = [
  'FROM alpine AS build',
  'WORKDIR /src',
  'RUN make',
  'RUN <<EOF',
  '#!/bin/sh',
  'echo script',
  'EOF',
  'FROM alpine',
  'COPY --from=build /src /app',
  'RUN ls /app',
  '',
].join('\n')

describe('--add-host, --shm-size and --ulimit on RUN', () => {
  test('every RUN of every stage gets the hosts, the /dev/shm tmpfs and the limits', async () => {
    const runs = execs(await convert1(DOCKERFILE, FLAGS))
    expect(runs).toHaveLength(3)
    for (const r of runs) {
      expect(r.meta.extraHosts).toEqual([{ host: 'foo', ip: '10.1.2.3' }])
      expect(r.meta.ulimits).toEqual(ULIMITS)
      expect(r.mounts.filter((m) => m.dest === '/dev/shm')).toEqual([{ type: 'tmpfs', dest: '/dev/shm', input: -1, output: -1, readonly: false, size: 128 * 2 ** 20 }])
    }
  })

  test('no other op changes', async () => {
    const plain = ops(await convert1(DOCKERFILE)).filter((o) => o.kind !== 'exec')
    const flagged = ops(await convert1(DOCKERFILE, FLAGS)).filter((o) => o.kind !== 'exec')
    // Ops downstream of a RUN take its new digest as input; compare them without their inputs.
    const shape = (o: Op): unknown => ({ ...o, inputs: o.inputs.length })
    expect(flagged.map(shape)).toEqual(plain.map(shape))
    expect(flagged.length).toBeGreaterThan(2)
  })

  test('absent, empty and zero flags leave every digest as it was', async () => {
    const plain = await convert1(DOCKERFILE)
    const empty = await convert1(DOCKERFILE, { extraHosts: [], shmSize: 0, ulimits: [] })
    expect([...empty.ops.keys()]).toEqual([...plain.ops.keys()])
    for (const r of execs(plain)) {
      expect(r.meta.ulimits).toBeUndefined()
      expect(r.mounts.some((m) => m.dest === '/dev/shm')).toBe(false)
    }
  })

  test('each flag changes the RUN digests', async () => {
    const plain = new Set((await convert1(DOCKERFILE)).ops.keys())
    for (const opts of [{ extraHosts: FLAGS.extraHosts }, { shmSize: FLAGS.shmSize }, { ulimits: ULIMITS }]) {
      const def = await convert1(DOCKERFILE, opts)
      const changed = [...def.ops].filter(([digest, op]) => op.kind === 'exec' && !plain.has(digest))
      expect(changed).toHaveLength(3)
    }
  })

  test.each([
    ['an absolute target', 'RUN --mount=type=tmpfs,target=/dev/shm,size=1048576 true'],
    ['a target relative to WORKDIR', 'WORKDIR /dev\nRUN --mount=type=tmpfs,target=shm,size=1048576 true'],
  ])('a RUN that mounts its own /dev/shm (%s) keeps it', async (_name, lines) => {
    const [run] = execs(await convert1(`FROM alpine\n${lines}\n`, { shmSize: FLAGS.shmSize }))
    expect(run!.mounts.filter((m) => m.dest === '/dev/shm')).toEqual([expect.objectContaining({ type: 'tmpfs', size: 1048576 })])
  })

  test('hosts from --add-host follow the RUN\'s own: one entry per flag, in order', async () => {
    const hosts = [{ host: 'a', ip: '10.0.0.1' }, { host: 'a', ip: '::1' }, { host: 'b', ip: '10.0.0.2' }]
    const [run] = execs(await convert1('FROM alpine\nRUN true\n', { extraHosts: hosts }))
    expect(run!.meta.extraHosts).toEqual(hosts)
  })
})
