import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { sha256 } from '../../common/digest.js'
import { copyContext } from './copyContext.js'
import { scanContext } from './scanContext.js'
import { makeTree } from './testContext.js'
import type { ContextSnapshot, FileRecord } from './types.js'

const freshDest = (): string => path.join(mkdtempSync(path.join(tmpdir(), 'tsbuild-copy-')), 'fs')

describe('copyContext copies what the scan hashed, or fails', () => {
  test('an unchanged context is copied', async () => {
    const root = makeTree({ 'a.txt': 'alpha', 'd/b.txt': 'beta' })
    const dest = freshDest()
    await copyContext(await scanContext(root), dest)
    expect(readFileSync(path.join(dest, 'd/b.txt'), 'utf8')).toBe('beta')
  })

  test('a file saved after the scan fails the copy, naming it', async () => {
    const root = makeTree({ 'a.txt': 'old' })
    const snapshot = await scanContext(root)
    writeFileSync(path.join(root, 'a.txt'), 'new')
    await expect(copyContext(snapshot, freshDest())).rejects.toMatchObject({ code: 'IO', message: expect.stringContaining('context file a.txt changed while the build was running') })
  })

  test('a recent file whose stat looks unchanged but whose bytes are not what was hashed fails the copy', async () => {
    // An edit landing in the same timestamp tick as the scan's stat leaves the stat as it was:
    // the scan's digest is then of other bytes than the file holds, as here.
    const root = makeTree({ 'a.txt': 'new' })
    const scanned = await scanContext(root)
    const records = new Map<string, FileRecord>(scanned.records)
    records.set('a.txt', { ...records.get('a.txt')!, digest: sha256('old') })
    const snapshot: ContextSnapshot = { ...scanned, records }
    await expect(copyContext(snapshot, freshDest())).rejects.toMatchObject({ code: 'IO', message: expect.stringContaining('context file a.txt changed') })
  })
})
