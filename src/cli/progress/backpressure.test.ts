import { PassThrough, Writable } from 'node:stream'
import { describe, expect, test } from 'vitest'
import type { Digest } from '../../common/digest.js'
import type { LogEvent, VertexEvent } from '../../solver/events.js'
import { createProgress } from './index.js'
import { encodeRawJson } from './rawjson.js'
import { whenDrained } from './backpressure.js'

const digest = `sha256:${'a'.repeat(64)}` as Digest

/** A slow reader: takes writes into its buffer but finishes none until `release`. */
function slowStream (): { out: Writable; release: () => void; received: () => number } {
  const pending: Array<() => void> = []
  let received = 0
  let released = false
  const out = new Writable({
    highWaterMark: 1024,
    write (chunk: Buffer, _enc, done) { received += chunk.length; if (released) done(); else pending.push(done) },
  })
  return { out, received: () => received, release: () => { released = true; for (const d of pending.splice(0)) d() } }
}

function logEvent (text: string, waits: Array<Promise<unknown>>): LogEvent {
  return { type: 'log', digest, stream: 1, data: Buffer.from(text), time: 0, backpressure: { wait: (p) => { waits.push(p) } } }
}

const started: VertexEvent = { type: 'vertex', digest, name: '[1/1] RUN x', status: 'started', time: 0 }

describe.each(['plain', 'rawjson'] as const)('%s progress on a full stderr', (mode) => {
  test('asks the step to wait until stderr drains, and loses nothing', async () => {
    const { out, release, received } = slowStream()
    const progress = createProgress(mode, { stdout: new PassThrough(), stderr: out, stdin: new PassThrough(), env: {}, cwd: '/' })
    progress.handle(started)
    const waits: Array<Promise<unknown>> = []
    progress.handle(logEvent('x'.repeat(4000) + '\n', waits))
    expect(waits).toHaveLength(1)
    let drained = false
    void waits[0]!.then(() => { drained = true })
    await new Promise((resolve) => setImmediate(resolve))
    expect(drained).toBe(false)
    release()
    await waits[0]
    expect(drained).toBe(true)
    expect(received()).toBeGreaterThan(4000)
  })
})

test('a stream with room asks nothing', () => {
  const progress = createProgress('plain', { stdout: new PassThrough(), stderr: new PassThrough(), stdin: new PassThrough(), env: {}, cwd: '/' })
  const waits: Array<Promise<unknown>> = []
  progress.handle(started)
  progress.handle(logEvent('short line\n', waits))
  expect(waits).toEqual([])
})

test('a reader that went away does not hold the step: the wait settles on close', async () => {
  const { out } = slowStream()
  out.write(Buffer.alloc(4096))
  const wait = whenDrained(out)
  expect(whenDrained(out)).toBe(wait) // parallel steps share one listener set
  out.destroy()
  await expect(wait).resolves.toBeUndefined()
  await expect(whenDrained(out)).resolves.toBeUndefined()
})

test('rawjson never serializes the backpressure handle', () => {
  const line = encodeRawJson(logEvent('hi', []))
  expect(JSON.parse(line)).toEqual({ type: 'log', digest, stream: 1, data: Buffer.from('hi').toString('base64'), time: 0 })
})
