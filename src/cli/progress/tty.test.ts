import { PassThrough } from 'node:stream'
import { describe, expect, test } from 'vitest'
import type { Digest } from '../../common/digest.js'
import { TtyPrinter } from './tty.js'

const A = 'sha256:aaaa' as Digest
const B = 'sha256:bbbb' as Digest

function setup (opts: { columns?: number; rows?: number; color?: boolean } = {}) {
  const out = new PassThrough()
  const writes: string[] = []
  out.setEncoding('utf8').on('data', (c: string) => { writes.push(c) })
  let clock = 10_000
  const t = new TtyPrinter(out, { color: opts.color ?? false, columns: () => opts.columns ?? 60, ...(opts.rows !== undefined ? { rows: () => opts.rows! } : {}), now: () => clock, interval: 1_000_000 })
  return { t, writes, tick: (ms: number) => { clock += ms } }
}

/** The screen after applying the frames: strips cursor movement, keeps the last frame's lines. */
function lastFrame (writes: string[]): string[] {
  const last = writes.at(-1)!
  // eslint-disable-next-line no-control-regex
  return last.replace(/\x1b\[\d+A/g, '').replace(/\x1b\[J/g, '').split('\n').filter((l) => l !== '').map((l) => l.replace(/^\r\x1b\[2K/, ''))
}

describe('TtyPrinter', () => {
  test('draws a header, steps with times and the last six output lines of a running step', () => {
    const { t, writes, tick } = setup()
    t.handle({ type: 'vertex', digest: A, name: '[1/2] FROM busybox', status: 'cached', time: 10_000 })
    t.handle({ type: 'vertex', digest: B, name: '[2/2] RUN make', status: 'started', time: 10_000 })
    for (let i = 1; i <= 8; i++) t.handle({ type: 'log', digest: B, stream: 1, data: Buffer.from(`line ${i}\n`), time: 10_100 })
    tick(1234)
    t.render()
    expect(lastFrame(writes)).toEqual([
      '[+] Building 1.2s (1/2)',
      ' => CACHED [1/2] FROM busybox                          0.0s',
      ' => [2/2] RUN make                                     1.2s',
      ...[3, 4, 5, 6, 7, 8].map((i) => ` => => # line ${i}`),
    ])
    for (const l of lastFrame(writes)) expect(l.length).toBeLessThanOrEqual(59)
  })

  test('a character split between two chunks shows whole', () => {
    const { t, writes } = setup()
    const text = Buffer.from('prêt €\n')
    t.handle({ type: 'vertex', digest: B, name: '[2/2] RUN x', status: 'started', time: 10_000 })
    t.handle({ type: 'log', digest: B, stream: 1, data: text.subarray(0, 3), time: 10_000 })
    t.handle({ type: 'log', digest: B, stream: 1, data: text.subarray(3), time: 10_000 })
    t.render()
    expect(lastFrame(writes)).toContain(' => => # prêt €')
  })

  test('redraws in place only when the frame changed', () => {
    const { t, writes, tick } = setup()
    t.handle({ type: 'vertex', digest: A, name: 'RUN a', status: 'started', time: 10_000 })
    t.render()
    const n = writes.length
    t.render()
    expect(writes.length).toBe(n)
    tick(100)
    t.render()
    expect(writes.length).toBe(n + 1)
    expect(writes.at(-1)!.startsWith('\x1b[2A')).toBe(true) // cursor up over the two lines drawn before
  })

  test('close collapses to every step with FINISHED and no output lines', () => {
    const { t, writes, tick } = setup()
    t.handle({ type: 'vertex', digest: A, name: 'RUN a', status: 'started', time: 10_000 })
    t.handle({ type: 'log', digest: A, stream: 1, data: Buffer.from('noise\n'), time: 10_000 })
    t.render()
    tick(2000)
    t.handle({ type: 'vertex', digest: A, name: 'RUN a', status: 'error', time: 12_000, error: 'exit code: 1' })
    t.close(true)
    expect(lastFrame(writes)).toEqual([
      '[+] Building 2.0s (1/1) FINISHED with errors',
      ' => ERROR RUN a                                        2.0s',
    ])
    expect(writes.at(-1)).toContain('\x1b[J') // the shorter frame clears what the live one left below
  })

  test('lines never exceed the terminal width and long names are cut', () => {
    const { t, writes } = setup({ columns: 30 })
    t.handle({ type: 'vertex', digest: A, name: '[2/2] RUN ' + 'x'.repeat(100), status: 'started', time: 10_000 })
    t.handle({ type: 'log', digest: A, stream: 1, data: Buffer.from('y'.repeat(100) + '\n'), time: 10_000 })
    t.render()
    const frame = lastFrame(writes)
    for (const l of frame) expect(l.length).toBeLessThanOrEqual(29)
    expect(frame[1]).toMatch(/^ => \[2\/2\] RUN x+\.\.\. +0\.0s$/)
  })

  test('a frame taller than the terminal keeps the newest lines', () => {
    const { t, writes } = setup({ rows: 5 })
    for (let i = 0; i < 10; i++) t.handle({ type: 'vertex', digest: `sha256:${i}` as Digest, name: `step ${i}`, status: 'cached', time: 10_000 })
    t.render()
    const frame = lastFrame(writes)
    expect(frame.length).toBe(4)
    expect(frame.at(-1)).toMatch(/step 9/)
  })

  test('colour marks errors unless disabled', () => {
    const { t, writes } = setup({ color: true })
    t.handle({ type: 'vertex', digest: A, name: 'RUN a', status: 'error', time: 10_000, error: 'x' })
    t.close(true)
    expect(writes.at(-1)).toContain('\x1b[31m => ERROR RUN a')
  })

  test('byte progress of a running step is a bar with sizes', () => {
    const { t, writes } = setup({ columns: 100 })
    t.handle({ type: 'vertex', digest: A, name: 'https://example.com/big', status: 'started', time: 10_000 })
    t.handle({ type: 'progress', digest: A, id: 'u', name: 'downloading', current: 500_000, total: 1_000_000, time: 10_000 })
    t.render()
    expect(lastFrame(writes)[2]).toMatch(/^ => => downloading \[=+>\s+\] +500.0kB \/ 1.00MB$/)
  })

  test('an unfinished stdout line and a stderr line stay two lines', () => {
    const { t, writes } = setup()
    t.handle({ type: 'vertex', digest: B, name: '[2/2] RUN x', status: 'started', time: 10_000 })
    t.handle({ type: 'log', digest: B, stream: 1, data: Buffer.from('downloading...'), time: 10_000 })
    t.handle({ type: 'log', digest: B, stream: 2, data: Buffer.from('warning: slow mirror\n'), time: 10_000 })
    t.render()
    expect(lastFrame(writes).slice(2)).toEqual([' => => # warning: slow mirror', ' => => # downloading...'])
  })

  /** Terminal columns of a line: East Asian wide characters and emoji take two. */
  const columns = (l: string): number => [...l].reduce((n, ch) => n + (/[\u4e00-\u9fff\u{1f300}-\u{1f64f}]/u.test(ch) ? 2 : 1), 0)

  test.each([
    ['CJK', '中文字符'.repeat(30)],
    ['emoji', 'emoji 😀 '.repeat(20)],
  ])('a line of %s is cut to the terminal\'s columns, never inside a character', (_, line) => {
    const { t, writes } = setup({ columns: 40 })
    t.handle({ type: 'vertex', digest: B, name: `[2/2] RUN echo ${line}`, status: 'started', time: 10_000 })
    t.handle({ type: 'log', digest: B, stream: 1, data: Buffer.from(`${line}\n`), time: 10_000 })
    t.render()
    const frame = lastFrame(writes)
    for (const l of frame) {
      expect(columns(l), l).toBeLessThanOrEqual(39)
      expect(l).not.toMatch(/[\ud800-\udfff]/u)
    }
    expect(frame[2]).toMatch(/^ => => # \S.*\.\.\.$/)
    expect(columns(frame[1]!)).toBe(39)
  })
})
