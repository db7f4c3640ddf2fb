import { mkdtemp, readFile, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test } from 'vitest'
import { LeaseManager } from './leases.js'

test('a lease names what it holds until released, and is not revived by a late add', async () => {
  const root = await mkdtemp(join(tmpdir(), 'tsbuild-lease-'))
  const leases = new LeaseManager(root)
  const lease = await leases.acquire({ records: ['r1'] })
  await Promise.all([lease.add({ snapshots: ['s1'] }), lease.add({ snapshots: ['s2'], blobs: ['b1'] })])
  const [file] = await leases.active()
  expect(file).toMatchObject({ id: lease.id, pid: process.pid, records: ['r1'], snapshots: ['s1', 's2'], blobs: ['b1'] })
  expect(JSON.parse(await readFile(join(root, 'leases', `${lease.id}.json`), 'utf8'))).toEqual(file)
  await lease.release()
  await lease.add({ snapshots: ['late'] })
  expect(await readdir(join(root, 'leases'))).toEqual([])
  expect(await leases.active()).toEqual([])
})
