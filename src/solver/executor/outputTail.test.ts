import { expect, test } from 'vitest'
import { OutputTail } from './outputTail.js'

function tailOf (chunks: Array<string | Buffer>, maxLines = 20, maxBytes = 16 * 1024): string[] {
  const t = new OutputTail(maxLines, maxBytes)
  for (const c of chunks) t.push(Buffer.isBuffer(c) ? c : Buffer.from(c))
  return t.lines()
}

test.each([
  ['the last lines only', [Array.from({ length: 30 }, (_, i) => `line${i + 1}\n`).join('')], Array.from({ length: 20 }, (_, i) => `line${i + 11}`)],
  ['an unfinished last line', ['a\nno newline'], ['a', 'no newline']],
  ['a character split between two chunks', [Buffer.from([0xe2, 0x82]), Buffer.from([0xac, 0x0a])], ['€']],
  ['a progress bar keeps its final state', ['\rbar 10%\rbar 100%\r\n'], ['bar 100%']],
  ['colour codes are dropped', ['\x1b[31mred\x1b[0m text\n'], ['red text']],
  ['CRLF line ends', ['one\r\ntwo\r\n'], ['one', 'two']],
  ['nothing printed', [], []],
] as const)('%s', (_, chunks, want) => {
  expect(tailOf([...chunks])).toEqual(want)
})

test('memory stays bounded by maxBytes', () => {
  expect(tailOf(['x'.repeat(100), 'end\n'], 20, 10)).toEqual(['xxxxxxend'])
})
