import { describe, expect, test } from 'vitest'
import { backoffDelay, isRetryableError, isRetryableStatus, parseRetryAfter } from './retry.js'
import { isLoopbackRegistry } from './loopback.js'

const policy = { attempts: 5, baseDelayMs: 100, maxDelayMs: 3000 }

describe('retry policy', () => {
  test.each([[429, true], [503, true], [500, true], [502, true], [404, false], [401, false], [400, false]])('status %i retryable: %s', (s, want) => {
    expect(isRetryableStatus(s)).toBe(want)
  })

  test.each([
    ['120', 120_000],
    ['0', 0],
    ['Thu, 01 Jan 1970 00:00:10 GMT', 5_000],
    ['soon', undefined],
    [null, undefined],
  ])('Retry-After %j → %s ms', (v, want) => {
    expect(parseRetryAfter(v, 5_000)).toBe(want)
  })

  test('backoff doubles with jitter, is capped, and honours Retry-After up to the cap', () => {
    expect(backoffDelay(policy, 1, undefined, () => 0)).toBe(50)
    expect(backoffDelay(policy, 3, undefined, () => 1)).toBe(400)
    expect(backoffDelay(policy, 10, undefined, () => 1)).toBe(3000)
    expect(backoffDelay(policy, 1, 1000)).toBe(1000)
    expect(backoffDelay(policy, 1, 60_000)).toBe(3000)
  })

  test.each([
    [new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) }), true],
    [new TypeError('terminated', { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) }), true],
    [Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), true],
    [Object.assign(new Error('aborted'), { name: 'AbortError' }), false],
    [new Error('boom'), false],
    [new TypeError('fetch failed', { cause: Object.assign(new Error('getaddrinfo ENOTFOUND registry-1.docker.io'), { code: 'ENOTFOUND' }) }), false],
  ])('error %s retryable: %s', (err, want) => {
    expect(isRetryableError(err)).toBe(want)
  })

  test.each([
    ['localhost', true], ['localhost:5000', true], ['127.0.0.1:5000', true], ['127.1.2.3', true], ['[::1]:5000', true],
    ['docker.io', false], ['10.0.0.1:5000', false], ['localhost.example.com', false], ['[fe80::1]', false],
  ])('%s is loopback: %s', (host, want) => {
    expect(isLoopbackRegistry(host)).toBe(want)
  })
})
