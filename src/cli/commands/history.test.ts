import { expect, test } from 'vitest'
import type { BuildRecord } from '../../cache/history/index.js'
import { formatInspect, formatList } from './history.js'

const record: BuildRecord = {
  id: 'abcdefabcdefabcdefabcdef1', name: 'app', createdAt: '2026-01-01T00:00:00.000Z', completedAt: '2026-01-01T00:00:02.500Z', durationMs: 2500,
  status: 'failed', error: '[2/2] RUN make: process "/bin/sh -c make" did not complete successfully: exit code: 2\nmake: *** no rule', warnings: ['legacy ENV form'],
  request: { context: '/src/app', dockerfile: 'Dockerfile', platforms: ['linux/amd64'], tags: ['app'], outputs: [], push: false, noCache: false, buildArgs: { V: '1' }, secretIds: ['tok'], sshIds: [] },
  steps: [
    { number: 1, digest: 'sha256:aa', name: '[1/2] FROM busybox', status: 'cached', cached: true, logBytes: 0 },
    { number: 2, digest: 'sha256:bb', name: '[2/2] RUN make', status: 'error', cached: false, durationMs: 2100, missReason: 'no cache record for this step', logBytes: 9 },
  ],
}

test('ls: one aligned row per build', () => {
  expect(formatList([record], Date.parse('2026-01-01T00:03:00.000Z'))).toBe([
    'BUILD ID                    NAME   STATUS   CREATED         DURATION   STEPS',
    'abcdefabcdefabcdefabcdef1   app    FAILED   3 minutes ago   2.5s       2 (1 cached)',
    '',
  ].join('\n'))
})

test('ls: STEPS counts the build\'s steps, not pulls, pushes or exports (as --metadata-file does)', () => {
  const withProgress: BuildRecord = { ...record, steps: [...record.steps, { number: 3, name: 'pushing layers', status: 'completed', cached: false, logBytes: 0 }] }
  expect(formatList([withProgress], Date.parse('2026-01-01T00:03:00.000Z'))).toMatch(/ 2 \(1 cached\)\n$/)
})

test('inspect: request, first line of the error, warnings and steps with miss reasons', () => {
  const out = formatInspect(record)
  expect(out).toContain('Status:     FAILED\n')
  expect(out).toContain('Build args: V=1\n')
  expect(out).toContain('Secrets:    tok\n')
  expect(out).toContain('Error:      [2/2] RUN make: process "/bin/sh -c make" did not complete successfully: exit code: 2\n')
  expect(out).not.toContain('no rule')
  expect(out).toContain('Warning: legacy ENV form\n')
  expect(out).toContain('#1    CACHED             [1/2] FROM busybox\n')
  expect(out).toContain('#2    ERROR      2.1s    [2/2] RUN make\n                        (ran: no cache record for this step)\n')
})

test('inspect: labels, ssh ids, --no-cache(-filter), --network and the run flags, when the build had them', () => {
  const out = formatInspect({
    ...record,
    request: {
      ...record.request, labels: { team: 'core' }, sshIds: ['default'], noCacheFilter: ['build'], network: 'none',
      addHosts: ['db:10.0.0.2'], shmSize: 134217728, ulimits: ['nofile=2048:4096'],
    },
  })
  expect(out).toContain('Labels:     team=core\n')
  expect(out).toContain('SSH:        default\n')
  expect(out).toContain('No cache:   build\n')
  expect(out).toContain('Network:    none\n')
  expect(out).toContain('Add hosts:  db:10.0.0.2\n')
  expect(out).toContain('Shm size:   134217728\n')
  expect(out).toContain('Ulimits:    nofile=2048:4096\n')
  expect(formatInspect(record)).not.toMatch(/Labels|No cache|Network|Add hosts|Shm size|Ulimits|SSH/)
})
