import { describe, expect, test } from 'vitest'
import { TsbuildError } from '../../common/errors.js'
import type { Ulimit } from '../../llb/index.js'
import { parseBuildArgs } from './buildFlags.js'
import { HOST_GATEWAY_IP, parseAddHost, parseShmSize, parseUlimit, parseUlimits } from './runFlags.js'

function usageError (fn: () => unknown): TsbuildError {
  try { fn() } catch (e) { expect(e).toBeInstanceOf(TsbuildError); expect((e as TsbuildError).code).toBe('USAGE'); return e as TsbuildError }
  throw new Error('expected a usage error')
}

describe('--add-host', () => {
  test.each([
    ['foo:10.1.2.3', [{ host: 'foo', ip: '10.1.2.3' }]],
    ['foo=10.1.2.3', [{ host: 'foo', ip: '10.1.2.3' }]],
    ['v6:::1', [{ host: 'v6', ip: '::1' }]],
    ['v6=::1', [{ host: 'v6', ip: '::1' }]],
    ['v6=[::1]', [{ host: 'v6', ip: '::1' }]],
    ['v6:[2001:db8::1]', [{ host: 'v6', ip: '2001:db8::1' }]],
    ['v4=[10.0.0.1]', [{ host: 'v4', ip: '10.0.0.1' }]],
    ['both=10.0.0.1,[::2]', [{ host: 'both', ip: '10.0.0.1' }, { host: 'both', ip: '::2' }]],
    ['my.db-host:192.168.0.1', [{ host: 'my.db-host', ip: '192.168.0.1' }]],
    ['host.docker.internal:host-gateway', [{ host: 'host.docker.internal', ip: HOST_GATEWAY_IP }]],
  ])('%s', (value, want) => {
    expect(parseAddHost(value, 'default')).toEqual(want)
  })

  test.each([
    ['foo', 'no IP address'],
    ['foo:', 'no IP address'],
    [':10.0.0.1', 'no host name'],
    ['=10.0.0.1', 'no host name'],
    ['foo:bar', '"bar" is not an IP address'],
    ['foo:10.0.0.256', '"10.0.0.256" is not an IP address'],
    ['foo=10.0.0.1,', '"" is not an IP address'],
    ['foo=[]', '"[]" is not an IP address'],
    ['a b:10.0.0.1', '"a b" is not a host name'],
    ['a#b:10.0.0.1', '"a#b" is not a host name'],
  ])('%s is refused: %s', (value, why) => {
    expect(usageError(() => parseAddHost(value, 'default')).message).toBe(`invalid --add-host ${JSON.stringify(value)}: ${why}`)
  })

  test('host-gateway with --network=none has no host to reach', () => {
    expect(usageError(() => parseAddHost('h:host-gateway', 'none')).message).toMatch(/host-gateway needs a network that reaches the host/)
    expect(parseAddHost('h:host-gateway', 'host')).toEqual([{ host: 'h', ip: HOST_GATEWAY_IP }])
  })
})

describe('--shm-size (docker RAMInBytes)', () => {
  test.each([
    ['0', 0], ['-1', 0], ['1024', 1024], ['64b', 64], ['64B', 64],
    ['1k', 1024], ['1K', 1024], ['1kb', 1024], ['1KiB', 1024], ['128m', 128 * 2 ** 20], ['128MB', 128 * 2 ** 20], ['128mib', 128 * 2 ** 20],
    ['2g', 2 * 2 ** 30], ['2 GiB', 2 * 2 ** 30], ['1t', 2 ** 40], ['1p', 2 ** 50], ['1.5k', 1536], ['0.5m', 2 ** 19], ['.5k', 512], ['1e3', 1000],
  ])('%s = %d bytes', (value, bytes) => {
    expect(parseShmSize(value)).toBe(bytes)
  })

  test.each([
    ['', 'not a size'], ['m', 'not a size'], ['-2m', 'not a size'], ['1,5g', 'not a size'], ['12x', 'unknown unit "x"'],
    ['1bb', 'unknown unit "bb"'], ['1kk', 'unknown unit "kk"'], ['1kib2', 'not a size'], ['1mibs', 'not a size'], ['1gi', 'unknown unit "gi"'],
    ['99999999p', 'too large'],
  ])('%j is refused: %s', (value, why) => {
    expect(usageError(() => parseShmSize(value)).message).toMatch(`invalid --shm-size ${JSON.stringify(value)}: ${why}`)
  })
})

describe('--ulimit (docker ParseUlimit)', () => {
  const KNOWN = '(one of: core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack)'

  test.each<[string, Ulimit]>([
    ['nofile=1024', { name: 'nofile', soft: 1024, hard: 1024 }],
    ['nofile=512:1024', { name: 'nofile', soft: 512, hard: 1024 }],
    ['core=-1', { name: 'core', soft: -1, hard: -1 }],
    ['core=0:-1', { name: 'core', soft: 0, hard: -1 }],
    ['stack=+8192', { name: 'stack', soft: 8192, hard: 8192 }],
    // Every name docker's ParseUlimit knows.
    ...(['core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack'] as const)
      .map((n): [string, Ulimit] => [`${n}=1`, { name: n, soft: 1, hard: 1 }]),
  ])('%s', (value, want) => {
    expect(parseUlimit(value)).toEqual(want)
  })

  test.each([
    ['nofile', 'expected NAME=SOFT[:HARD]'],
    ['files=10', `unknown limit "files" ${KNOWN}`],
    ['NOFILE=10', `unknown limit "NOFILE" ${KNOWN}`],
    ['as=10', `unknown limit "as" ${KNOWN}`],
    ['nofile=', '"" is not a whole number'],
    ['nofile=1k', '"1k" is not a whole number'],
    ['nofile=1:2:3', 'too many values, expected SOFT[:HARD]'],
    ['nofile=2048:1024', 'the soft limit 2048 is above the hard limit 1024'],
    ['nofile=-1:1024', 'the soft limit unlimited is above the hard limit 1024'],
    ['nofile=-2', '-2 is negative (use -1 for unlimited)'],
    ['nofile=99999999999999999999', '99999999999999999999 is too large'],
  ])('%s is refused: %s', (value, why) => {
    expect(usageError(() => parseUlimit(value)).message).toBe(`invalid --ulimit ${JSON.stringify(value)}: ${why}`)
  })

  test('one limit per name, the last one given wins', () => {
    expect(parseUlimits(['nofile=1', 'core=2', 'nofile=3:4'])).toEqual([{ name: 'nofile', soft: 3, hard: 4 }, { name: 'core', soft: 2, hard: 2 }])
  })
})

describe('tsbuild build flags', () => {
  const parse = (...argv: string[]) => parseBuildArgs(argv, '/work/app', {})

  test('absent: no hosts, the default /dev/shm, no limits', () => {
    expect(parse('.')).toMatchObject({ extraHosts: [], shmSize: 0, ulimits: [] })
  })

  test('repeatable --add-host and --ulimit, one --shm-size', () => {
    const r = parse('--add-host', 'a:10.0.0.1', '--add-host=b=::1', '--shm-size', '128m', '--ulimit', 'nofile=512:1024', '--ulimit=core=-1', '.')
    expect(r.extraHosts).toEqual([{ host: 'a', ip: '10.0.0.1' }, { host: 'b', ip: '::1' }])
    expect(r.shmSize).toBe(128 * 2 ** 20)
    expect(r.ulimits).toEqual([{ name: 'nofile', soft: 512, hard: 1024 }, { name: 'core', soft: -1, hard: -1 }])
  })

  test('host-gateway is judged against the build\'s --network', () => {
    expect(usageError(() => parse('--network', 'none', '--add-host', 'h:host-gateway', '.')).message).toMatch(/--network=none/)
  })
})
