import { mkdir, mkdtemp, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { ownerPid, sweepStaleSandboxes } from './sweep.js'

// Above any pid_max default: no process has it.
const DEAD = 4_194_303

describe('ownerPid', () => {
  test.each([
    ['tsb-123-abcdef', 123],
    ['view-42-lq3-0-ff00aa', 42],
    ['rw-7-x', 7],
    ['tsb-abcdef0123', undefined],
    ['lost+found', undefined],
  ])('%s → %s', (name, pid) => {
    expect(ownerPid(name)).toBe(pid)
  })
})

describe('sweepStaleSandboxes', () => {
  test('removes dirs of dead processes and keeps live and unknown ones', async () => {
    const root = await mkdtemp(join(tmpdir(), 'tsb-sweep-'))
    const dirs = [
      `executor/tsb-${DEAD}-aa`, `executor/tsb-${process.pid}-bb`, 'executor/unowned',
      `mnt/view-${DEAD}-x-0-cc`, `mnt/rw-${process.pid}-y-1-dd`,
    ]
    for (const d of dirs) await mkdir(join(root, d, 'rootfs'), { recursive: true })
    // `true` stands in for runc: it lists no containers.
    const result = await sweepStaleSandboxes(root, { runc: 'true' })
    expect(result.dirs.sort()).toEqual([`executor/tsb-${DEAD}-aa`, `mnt/view-${DEAD}-x-0-cc`])
    expect((await readdir(join(root, 'executor'))).sort()).toEqual([`tsb-${process.pid}-bb`, 'unowned'])
    expect(await readdir(join(root, 'mnt'))).toEqual([`rw-${process.pid}-y-1-dd`])
  })
  test('finds the containers of dead processes in the runc root and leaves live ones', async () => {
    const root = await mkdtemp(join(tmpdir(), 'tsb-sweep-'))
    for (const id of [`tsb-${DEAD}-aa`, `tsb-${process.pid}-bb`, 'someone-else']) await mkdir(join(root, 'runc', id), { recursive: true })
    // `true` stands in for runc's kill and delete.
    const result = await sweepStaleSandboxes(root, { runc: 'true' })
    expect(result.containers).toEqual([`tsb-${DEAD}-aa`])
  })
})
