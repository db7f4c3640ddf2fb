import { spawn } from 'node:child_process'
import { mkdtemp, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { describe, expect, test } from 'vitest'
import { contentStoreSuite } from '../../../test/suites/contentStore.js'
import { LocalContentStore } from './local.js'

const writerEntry = fileURLToPath(new URL('../../../test/suites/localContentStoreWriter.ts', import.meta.url))
let writerScript: Promise<string> | undefined

// The child must run the real store code; Node 20 cannot load .ts, so bundle
// the writer once per test run.
async function bundledWriter (): Promise<string> {
  writerScript ??= (async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'tsbuild-writer-')), 'writer.mjs')
    await build({ entryPoints: [writerEntry], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: out, logLevel: 'error' })
    return out
  })()
  return await writerScript
}

contentStoreSuite('LocalContentStore', {
  async create () {
    const root = await mkdtemp(join(tmpdir(), 'tsbuild-cs-'))
    const store = new LocalContentStore(root)
    return {
      store,
      async leftovers () {
        return await readdir(join(root, 'tmp')).catch(() => [])
      },
    }
  },
  async scratchDir () {
    return await mkdtemp(join(tmpdir(), 'tsbuild-cs-scratch-'))
  },
  async writeFromOtherProcess (sut, dataFile) {
    const script = await bundledWriter()
    const root = (sut.store as LocalContentStore).root
    return await new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, [script, root, dataFile], { stdio: ['ignore', 'ignore', 'inherit'] })
      child.on('error', reject)
      child.on('exit', (code) => resolve(code ?? -1))
    })
  },
})

describe('LocalContentStore layout', () => {
  test('blobs live at blobs/sha256/<hex> under the root', async () => {
    const root = await mkdtemp(join(tmpdir(), 'tsbuild-cs-'))
    const store = new LocalContentStore(root)
    const { digest } = await store.writeBytes('x')
    expect(store.path(digest)).toBe(join(root, 'blobs', 'sha256', digest.slice(7)))
    expect(await readdir(join(root, 'blobs', 'sha256'))).toEqual([digest.slice(7)])
  })

  test('ingestFile copies a file and verifies it', async () => {
    const root = await mkdtemp(join(tmpdir(), 'tsbuild-cs-'))
    const store = new LocalContentStore(root)
    const src = join(await mkdtemp(join(tmpdir(), 'tsbuild-cs-src-')), 'f')
    const { writeFile } = await import('node:fs/promises')
    await writeFile(src, 'file body')
    const info = await store.ingestFile(src)
    expect((await store.readBytes(info.digest)).toString()).toBe('file body')
    await expect(store.ingestFile(src, { digest: info.digest.replace(/.$/, '0') as typeof info.digest, size: 9 }))
      .rejects.toMatchObject({ code: expect.stringMatching(/DIGEST_MISMATCH|INVALID_REFERENCE/) })
  })
})
