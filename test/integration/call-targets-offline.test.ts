// `--call=targets` reads the Dockerfile only, as BuildKit does: a base image
// on a registry that cannot be reached does not stop the listing.
import { describe, expect, test } from 'vitest'
import { ensureBuilt, freshDir, runTsbuild, writeContext } from '../helpers/tsbuild.js'

describe('--call=targets', () => {
  test('lists the stages without asking any registry about their base images', async () => {
    await ensureBuilt()
    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: '# app builds the app\nFROM private.example.invalid/base:1 AS app\nRUN true\nFROM app AS release\n',
    })
    const res = await runTsbuild(['build', '--call=targets', ctx], { root: await freshDir('tsb-root-') })
    expect(res.stderr).not.toMatch(/ENOTFOUND|unreachable/)
    expect(res.code).toBe(0)
    expect(res.stdout).toMatch(/^app\s+builds the app$/m)
    expect(res.stdout).toMatch(/^release \(default\)/m)
  })
})
