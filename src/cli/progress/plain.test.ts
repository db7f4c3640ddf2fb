import { PassThrough } from 'node:stream'
import { describe, expect, test } from 'vitest'
import type { Digest } from '../../common/digest.js'
import type { SolveEvent } from '../../solver/events.js'
import { PARTIAL_LINE_CHARS, PlainPrinter, formatBytes } from './plain.js'

const A = 'sha256:aaaa' as Digest
const B = 'sha256:bbbb' as Digest

function print (events: SolveEvent[], close = false): string {
  const out = new PassThrough()
  let text = ''
  out.setEncoding('utf8').on('data', (c: string) => { text += c })
  const p = new PlainPrinter(out)
  for (const e of events) p.handle(e)
  if (close) p.close()
  return text
}

const log = (digest: Digest, text: string, time: number): SolveEvent => ({ type: 'log', digest, stream: 1, data: Buffer.from(text), time })

describe('PlainPrinter', () => {
  test('prints BuildKit blocks: header, timed log lines, DONE and CACHED', () => {
    expect(print([
      { type: 'vertex', digest: A, name: '[1/2] FROM busybox', status: 'cached', time: 0 },
      { type: 'vertex', digest: B, name: '[2/2] RUN make', status: 'started', time: 1000 },
      log(B, 'cc -o app\nld', 1250),
      log(B, ' app\n', 1500),
      { type: 'vertex', digest: B, name: '[2/2] RUN make', status: 'completed', time: 2234 },
    ])).toBe([
      '#1 [1/2] FROM busybox', '#1 CACHED', '',
      '#2 [2/2] RUN make', '#2 0.250 cc -o app', '#2 0.500 ld app', '#2 DONE 1.2s', '',
    ].join('\n'))
  })

  test('interleaved steps: the block left gets "#N ..." and the one entered its header again', () => {
    expect(print([
      { type: 'vertex', digest: A, name: '[a 2/2] RUN sleep 1', status: 'started', time: 0 },
      log(A, 'a1\n', 100),
      { type: 'vertex', digest: B, name: '[b 2/2] RUN echo hi', status: 'started', time: 200 },
      log(B, 'hi\n', 300),
      log(A, 'a2\n', 400),
      { type: 'vertex', digest: B, name: '[b 2/2] RUN echo hi', status: 'completed', time: 500 },
      { type: 'vertex', digest: A, name: '[a 2/2] RUN sleep 1', status: 'completed', time: 1000 },
    ])).toBe([
      '#1 [a 2/2] RUN sleep 1', '#1 0.100 a1', '#1 ...', '',
      '#2 [b 2/2] RUN echo hi', '#2 0.100 hi', '#2 ...', '',
      '#1 [a 2/2] RUN sleep 1', '#1 0.400 a2', '#1 ...', '',
      '#2 [b 2/2] RUN echo hi', '#2 DONE 0.3s', '',
      '#1 [a 2/2] RUN sleep 1', '#1 DONE 1.0s', '',
    ].join('\n'))
  })

  test('an error prints its first line only; an unfinished last line is printed when the step ends', () => {
    expect(print([
      { type: 'vertex', digest: A, name: '[2/2] RUN false', status: 'started', time: 0 },
      log(A, 'no newline', 10),
      { type: 'vertex', digest: A, name: '[2/2] RUN false', status: 'error', time: 20, error: 'process "false" did not complete successfully: exit code: 1\nno newline' },
    ])).toBe('#1 [2/2] RUN false\n#1 0.020 no newline\n#1 ERROR: process "false" did not complete successfully: exit code: 1\n')
  })

  test('a line split over many chunks prints whole, a \\r\\n split between chunks included, in time linear in its length', () => {
    const chunk = 'x'.repeat(64 * 1024)
    const events: SolveEvent[] = [{ type: 'vertex', digest: A, name: '[2/2] RUN yes', status: 'started', time: 0 }]
    // 32 MB without a newline: re-splitting the growing line at every chunk took tens of seconds.
    for (let i = 0; i < 512; i++) events.push(log(A, chunk, 1))
    events.push(log(A, 'end\r', 2), log(A, '\nnext\n', 3))
    const text = print(events)
    const lines = text.split('\n')
    // Printed in pieces of about a megabyte (memory stays bounded), every byte kept.
    const pieces = lines.slice(1, -2)
    expect(pieces.length).toBeGreaterThan(16)
    for (const p of pieces) expect(p.length).toBeLessThan(PARTIAL_LINE_CHARS + 64 * 1024 + 16)
    expect(pieces.map((l) => l.replace(/^#1 \d+\.\d{3} /, '')).join('')).toBe(`${chunk.repeat(512)}end`)
    expect(lines.at(-2)).toBe('#1 0.003 next')
  }, 10_000)

  test('unfinished lines of stdout and stderr never merge', () => {
    const text = print([
      { type: 'vertex', digest: A, name: '[2/2] RUN x', status: 'started', time: 0 },
      { type: 'log', digest: A, stream: 1, data: Buffer.from('OOO'), time: 1 },
      { type: 'log', digest: A, stream: 2, data: Buffer.from('EEE'), time: 1 },
      { type: 'log', digest: A, stream: 1, data: Buffer.from('OOO\n'), time: 2 },
      { type: 'log', digest: A, stream: 2, data: Buffer.from('EE'), time: 2 },
      { type: 'vertex', digest: A, name: '[2/2] RUN x', status: 'completed', time: 3 },
    ])
    expect(text).toBe('#1 [2/2] RUN x\n#1 0.002 OOOOOO\n#1 0.003 EEEEE\n#1 DONE 0.0s\n')
  })

  test('a character split between two chunks prints whole, on stdout and stderr each', () => {
    const euro = Buffer.from('€\n') // 3 bytes and a newline
    const err = Buffer.from('é\n')
    const text = print([
      { type: 'vertex', digest: A, name: '[2/2] RUN x', status: 'started', time: 0 },
      { type: 'log', digest: A, stream: 1, data: euro.subarray(0, 1), time: 1 },
      { type: 'log', digest: A, stream: 2, data: err.subarray(0, 1), time: 1 },
      { type: 'log', digest: A, stream: 1, data: euro.subarray(1), time: 2 },
      { type: 'log', digest: A, stream: 2, data: err.subarray(1), time: 2 },
    ])
    expect(text).toBe('#1 [2/2] RUN x\n#1 0.002 €\n#1 0.002 é\n')
  })

  test('progress items without a vertex are steps of their own; byte progress of a vertex prints when done', () => {
    expect(print([
      { type: 'vertex', digest: A, name: 'https://example.com/f', status: 'started', time: 0 },
      { type: 'progress', digest: A, id: 'u', name: 'downloading https://example.com/f', current: 10, total: 2_500_000, time: 10 },
      { type: 'progress', digest: A, id: 'u', name: 'downloading https://example.com/f', current: 2_500_000, total: 2_500_000, done: true, time: 20 },
      { type: 'vertex', digest: A, name: 'https://example.com/f', status: 'completed', time: 30 },
      { type: 'progress', id: 'export-image', name: 'exporting to image', current: 0, time: 100 },
      { type: 'progress', id: 'export-image', name: 'exporting to image', current: 1, total: 1, done: true, time: 400 },
      { type: 'warning', message: 'legacy ENV form', time: 500 },
    ])).toBe([
      '#1 https://example.com/f', '#1 downloading https://example.com/f 2.50MB done', '#1 DONE 0.0s', '',
      '#2 exporting to image', '#2 DONE 0.3s', '',
      'WARNING: legacy ENV form', '',
    ].join('\n'))
  })

  test('carriage-return redraws and colour codes from a step do not reach the log', () => {
    expect(print([
      { type: 'vertex', digest: A, name: 'RUN x', status: 'started', time: 0 },
      log(A, '10%\r50%\r\x1b[32mdone\x1b[0m\n', 0),
    ])).toBe('#1 RUN x\n#1 0.000 done\n')
  })

  test.each([[999, '999B'], [1000, '1.00kB'], [2_500_000, '2.50MB'], [123_456_789, '123.5MB']])('formatBytes(%d) = %s', (n, s) => {
    expect(formatBytes(n)).toBe(s)
  })
})
