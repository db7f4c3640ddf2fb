import { expect, test } from 'vitest'
import { maskedForms, OutputRedactor } from './redact.js'

/** Feed `chunks` through one redactor and return everything it passed on. */
function run (secrets: string[], chunks: Array<string | Buffer>): string {
  const r = new OutputRedactor(secrets.map((s) => Buffer.from(s)))
  const out = chunks.map((c) => r.write(Buffer.isBuffer(c) ? c : Buffer.from(c)))
  out.push(r.end())
  return Buffer.concat(out).toString('utf8')
}

test.each([
  ['whole in one chunk', ['s3cr3t-value'], ['token s3cr3t-value and s3cr3t-value\n'], 'token **** and ****\n'],
  ['split across two chunks', ['s3cr3t-value'], ['token s3cr', '3t-value\n'], 'token ****\n'],
  ['split across many one-byte chunks', ['s3cr3t'], [...'xs3cr3ty'], 'x****y'],
  ['a prefix that turns out not to be the value', ['s3cr3t'], ['s3c', 'rap\n'], 's3crap\n'],
  ['a prefix left at the end of the stream', ['s3cr3t'], ['ends with s3cr'], 'ends with s3cr'],
  ['the longer of two values sharing a start, split', ['abcd', 'abcdefgh'], ['x abcd', 'efgh y'], 'x **** y'],
  ['the shorter of two values sharing a start', ['abcd', 'abcdefgh'], ['x abcd', 'xyz'], 'x ****xyz'],
  ['a file secret printed without its newline', ['file-token\n'], ['got file-token.\n'], 'got ****.\n'],
  ['one line of a multi-line secret', ['line-one-key\nline-two-key\n'], ['line-two-key\n'], '****\n'],
  ['values under 4 bytes stay (masking every "ab" hides nothing)', ['ab'], ['abc ab\n'], 'abc ab\n'],
  ['no secrets', [], ['plain\n'], 'plain\n'],
  ['the shorter of two values sharing a start, last in the stream', ['abcd', 'abcdefgh'], ['x abcd'], 'x ****'],
  ['a file secret printed without its newline, last in the stream', ['token123\n'], ['val=token123'], 'val=****'],
  ['a value inside a longer one that goes on in the next chunk', ['zzabcdQQ', 'abcd'], ['zzabcd', 'QQ'], '****'],
  ['a value with regex-special characters, taken literally', ['a.*b$(x)'], ['1 a.*b$(x) 2 aXXb'], '1 **** 2 aXXb'],
  ['a value of exactly 4 bytes', ['wxyz'], ['wxyzwxy'], '****wxy'],
] as const)('%s', (_, secrets, chunks, want) => {
  expect(run([...secrets], [...chunks])).toBe(want)
})

test('binary values and output are masked byte for byte', () => {
  const secret = Buffer.from([0xff, 0x00, 0xfe, 0x01, 0x80])
  const r = new OutputRedactor([secret])
  const out = Buffer.concat([r.write(Buffer.from([0x41, 0xff, 0x00])), r.write(Buffer.from([0xfe, 0x01, 0x80, 0x42])), r.end()])
  expect(out).toEqual(Buffer.from('A****B'))
})

test('only bytes that may begin a value wait; the rest passes on at once', () => {
  const r = new OutputRedactor([Buffer.from('s3cr3t')])
  expect(r.write(Buffer.from('progress 10%\rprogress 20%')).toString()).toBe('progress 10%\rprogress 20%')
  expect(r.write(Buffer.from('x s3')).toString()).toBe('x ')
  expect(r.end().toString()).toBe('s3')
})

test('maskedForms: longest first, without duplicates', () => {
  expect(maskedForms([Buffer.from('  padded-token  \n')]).map(String)).toEqual(['  padded-token  \n', 'padded-token'])
})

test('a value printed 100,000 times is masked in linear time, also when another form of it is absent', () => {
  // The secret file ends in a newline the step never prints: that form is searched for and never found.
  const r = new OutputRedactor([Buffer.from('hunter22\n')])
  const chunk = Buffer.from('hunter22 '.repeat(10_000))
  const started = performance.now()
  let masked = 0
  for (let i = 0; i < 10; i++) masked += r.write(chunk).toString().split('****').length - 1
  masked += r.end().toString().split('****').length - 1
  expect(masked).toBe(100_000)
  // Quadratic search took about 3 s for this; linear takes well under 0.2 s.
  expect(performance.now() - started).toBeLessThan(1500)
})

test('output without secrets stays cheap to scan when the secret is a kilobytes-long key file', () => {
  const secret = Buffer.from(Array.from({ length: 100 }, (_, i) => `key${i}: ${'x'.repeat(40)}${i}`).join('\n') + '\n')
  const r = new OutputRedactor([secret])
  const chunk = Buffer.from('progress line that has nothing secret in it at all. key key\n'.repeat(80))
  const started = performance.now()
  let passed = 0
  for (let i = 0; i < 250; i++) passed += r.write(chunk).length
  expect(passed).toBe(250 * chunk.length)
  // Allocating a slice per position and value took about 1 s for this megabyte; comparing in place, about 0.1 s.
  expect(performance.now() - started).toBeLessThan(600)
})

test('how output is cut into chunks never changes what is shown, and no whole value is ever shown', () => {
  // A fixed-seed generator: values and output over a tiny alphabet, so values overlap, nest and share starts often.
  let seed = 12345
  const next = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n }
  const text = (len: number): string => Array.from({ length: len }, () => 'ab\n '[next(4)]).join('')
  for (let k = 0; k < 5000; k++) {
    const secrets = Array.from({ length: 1 + next(3) }, () => text(4 + next(5)))
    const output = text(next(60))
    const whole = run(secrets, [output])
    const chunks: string[] = []
    for (let i = 0; i < output.length;) { const n = 1 + next(8); chunks.push(output.slice(i, i + n)); i += n }
    expect(run(secrets, chunks), JSON.stringify({ secrets, chunks })).toBe(whole)
    for (const s of secrets.map((v) => v.trim()).filter((v) => v.length >= 4)) expect(whole).not.toContain(s)
  }
})
