import { describe, expect, test } from 'vitest'
import { BUILD_FLAGS } from './flags/buildFlags.js'
import { LEGACY_BUILD_FLAGS } from './flags/legacyFlags.js'
import { usage } from './usage.js'

// Legacy `docker build` flags stay out of the help, as buildx hides them.
const legacy = new Set(LEGACY_BUILD_FLAGS.map((f) => f.long))
const documented = BUILD_FLAGS.filter((f) => !legacy.has(f.long) && f.long !== 'help')

describe('tsbuild --help', () => {
  test.each(documented.map((f) => [f.long, f.short]))('lists --%s', (long, short) => {
    expect(usage).toMatch(new RegExp(`--${long}\\b`))
    if (short !== undefined) expect(usage).toContain(`-${short}, --${long}`)
  })

  test('lists no build flag the parser does not take', () => {
    const taken = new Set(BUILD_FLAGS.map((f) => f.long))
    const listed = [...usage.matchAll(/^ {2}(?:-\w, )?\s*--([a-z-]+)/gm)].map((m) => m[1]!)
    expect(listed.length).toBeGreaterThan(20)
    expect(listed.filter((name) => !taken.has(name))).toEqual([])
  })
})
