import { expect, test } from 'vitest'
import { parseDuration } from './prune.js'

test.each([['24h', 86_400_000], ['30m', 1_800_000], ['1h30m', 5_400_000], ['90s', 90_000], ['7d', 604_800_000], ['1.5h', 5_400_000]])('parseDuration(%s)', (text, ms) => {
  expect(parseDuration(text)).toBe(ms)
})

test.each(['', '24', 'h', '1x', '1h junk'])('parseDuration rejects %j', (text) => {
  expect(() => parseDuration(text)).toThrow(/invalid duration/)
})
