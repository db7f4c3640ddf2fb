import { expect, test } from 'vitest'
import { shortenForDisplay } from './shorten.js'

test.each([
  ['short', 'echo hi', 200, 'echo hi'],
  ['exactly at the limit', 'x'.repeat(10), 10, 'x'.repeat(10)],
  ['over the limit', 'y'.repeat(11), 10, `${'y'.repeat(10)}… (11 bytes)`],
  ['size in bytes, not characters', 'é'.repeat(12), 10, `${'é'.repeat(10)}… (24 bytes)`],
])('%s', (_, text, max, want) => {
  expect(shortenForDisplay(text, max)).toBe(want)
})
