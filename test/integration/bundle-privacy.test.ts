// A RUN's runc bundle holds its environment (secrets given as env= among it):
// nobody but root may read it while the step runs.
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, inject, test } from 'vitest'
import { ensureBuilt, freshDir, spawnTsbuild, writeContext } from '../helpers/tsbuild.js'

describe('runc bundles', () => {
  test('the executor dir is 0700 and config.json 0600 while a step with an env secret runs', async () => {
    await ensureBuilt()
    const root = await freshDir('tsb-root-')
    const secretFile = join(await freshDir('tsb-secret-'), 's')
    const { writeFile } = await import('node:fs/promises')
    await writeFile(secretFile, 'top-secret-value')
    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: `FROM ${inject('busybox')}\nRUN --mount=type=secret,id=s,env=SECRET sleep 3\n`,
    })
    const run = spawnTsbuild(['build', '--no-cache', '--secret', `id=s,src=${secretFile}`, ctx], { root })
    let config: string | undefined
    for (let i = 0; i < 200 && config === undefined; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      const bundles = await readdir(join(root, 'executor')).catch(() => [] as string[])
      for (const b of bundles) {
        const path = join(root, 'executor', b, 'config.json')
        if (await stat(path).catch(() => undefined) !== undefined) config = path
      }
    }
    expect(config).toBeDefined()
    expect((await stat(join(root, 'executor'))).mode & 0o777).toBe(0o700)
    expect((await stat(config!)).mode & 0o777).toBe(0o600)
    expect(await readFile(config!, 'utf8')).toContain('SECRET=top-secret-value')
    expect((await run.done).code).toBe(0)
  })
})
