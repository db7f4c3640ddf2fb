import { PassThrough } from 'node:stream'
import { describe, expect, test } from 'vitest'
import { DockerfileError, TsbuildError } from '../common/errors.js'
import type { CommandIo } from './io.js'
import { reportError } from './report.js'

function io (): { io: CommandIo; err: () => string } {
  const stderr = new PassThrough()
  let text = ''
  stderr.setEncoding('utf8').on('data', (c: string) => { text += c })
  return { io: { stdin: new PassThrough(), stdout: new PassThrough(), stderr, env: {}, cwd: '/nonexistent' }, err: () => text }
}

const dockerfile = 'FROM busybox\nRUN echo one\nRUNN echo hi\nCOPY --chmod=zz a /a\n'

/** What the executor throws for a RUN that exits non-zero (see solver/executor). */
class FakeExecFailed extends TsbuildError {
  readonly lastLines = ['one', 'two']
  constructor () { super('EXEC_FAILED', 'process "/bin/sh -c false" did not complete successfully: exit code: 1\none\ntwo') }
}

describe('reportError', () => {
  test.each([
    [new TsbuildError('USAGE', 'unknown flag --nope'), 2],
    [new TsbuildError('NOT_FOUND', 'image "x" not found'), 1],
    [new TsbuildError('CANCELLED', 'interrupted'), 130],
    [new Error('broken invariant'), 70],
  ])('%s exits %i', (e, code) => {
    expect(reportError(e, io().io)).toBe(code)
  })

  test('a one-line error is one ERROR line, then its hint', () => {
    const c = io()
    reportError(new TsbuildError('NOT_FOUND', 'image "x" not found', { hint: 'pull it first' }), c.io)
    expect(c.err()).toBe('ERROR: image "x" not found\nhint: pull it first\n')
  })

  test('a Dockerfile error shows file:line:column, the line with >>>, and a caret', () => {
    const c = io()
    const e = new DockerfileError('UNKNOWN_INSTRUCTION', 'Dockerfile:3: unknown instruction: RUNN (did you mean RUN?)', { file: 'Dockerfile', ranges: [{ start: { line: 3, character: 0 }, end: { line: 3, character: 12 } }] })
    reportError(e, c.io, { dockerfileText: dockerfile })
    expect(c.err()).toBe([
      'Dockerfile:3:1', '--------------------',
      ' 1 |     FROM busybox', ' 2 |     RUN echo one', ' 3 | >>> RUNN echo hi', '   |     ^', ' 4 |     COPY --chmod=zz a /a',
      '--------------------', 'ERROR: Dockerfile:3: unknown instruction: RUNN (did you mean RUN?)', '',
    ].join('\n'))
  })

  test('part of a line is underlined', () => {
    const c = io()
    const e = new DockerfileError('INVALID_INSTRUCTION', 'invalid --chmod', { file: 'Dockerfile', ranges: [{ start: { line: 4, character: 5 }, end: { line: 4, character: 15 } }], hint: 'use 0755 or u+x' })
    reportError(e, c.io, { dockerfileText: dockerfile })
    expect(c.err()).toContain('Dockerfile:4:6\n')
    expect(c.err()).toContain(' 4 | >>> COPY --chmod=zz a /a\n   |          ^^^^^^^^^^\n')
    expect(c.err().endsWith('ERROR: invalid --chmod\nhint: use 0755 or u+x\n')).toBe(true)
  })

  test('a failed step prints its last output lines, its Dockerfile lines, then the error', () => {
    const c = io()
    const step = Object.assign(new TsbuildError('EXEC_FAILED', '[2/2] RUN false: process "/bin/sh -c false" did not complete successfully: exit code: 1\none\ntwo', { cause: new FakeExecFailed() }), {
      locations: [{ file: 'Dockerfile', ranges: [{ start: { line: 2, character: 0 }, end: { line: 2, character: 12 } }] }],
      dockerfile,
    })
    expect(reportError(step, c.io)).toBe(1)
    expect(c.err()).toBe([
      '------', ' > [2/2] RUN false:', 'one', 'two', '------',
      'Dockerfile:2', '--------------------', ' 1 |     FROM busybox', ' 2 | >>> RUN echo one', ' 3 |     RUNN echo hi', '--------------------',
      'ERROR: [2/2] RUN false: process "/bin/sh -c false" did not complete successfully: exit code: 1', '',
    ].join('\n'))
  })

  describe('a full disk', () => {
    /** Node's shape for a failed system call: a write on a handle names no path; open, mkdir, rename … do. */
    function errnoAt (code: 'ENOSPC' | 'EDQUOT', syscall: string, path?: string): NodeJS.ErrnoException {
      const words = code === 'ENOSPC' ? 'no space left on device' : 'disk quota exceeded'
      const err = new Error(`${code}: ${words}, ${syscall}${path !== undefined ? ` '${path}'` : ''}`)
      return Object.assign(err, { code, syscall, errno: code === 'ENOSPC' ? -28 : -122, ...(path !== undefined ? { path } : {}) })
    }
    const writeToFullDevice = (): NodeJS.ErrnoException => errnoAt('ENOSPC', 'write')
    const env = { TSBUILD_ROOT: '/srv/tsbuild' }
    const stateDirHint = 'hint: free space on that device (tsbuild prune removes build cache) or set TSBUILD_ROOT to a larger one\n'

    test.each([
      ['a write without a path is about the state dir', writeToFullDevice(),
        'ERROR: no space left on the device holding the state dir /srv/tsbuild (ENOSPC)\n' + stateDirHint],
      ['a path inside the state dir is named after it', errnoAt('ENOSPC', 'open', '/srv/tsbuild/snapshots/4/fs/big'),
        'ERROR: no space left on the device holding the state dir /srv/tsbuild (ENOSPC) (open /srv/tsbuild/snapshots/4/fs/big)\n' + stateDirHint],
      ['a path elsewhere is the device named', errnoAt('EDQUOT', 'write', '/out/image.tar'),
        'ERROR: disk quota exceeded on the device holding /out/image.tar (EDQUOT) (write /out/image.tar)\nhint: free space on that device or choose another destination\n'],
      ['wrapped as the cause of a plain error', new Error('layer export failed', { cause: writeToFullDevice() }),
        'ERROR: no space left on the device holding the state dir /srv/tsbuild (ENOSPC)\n' + stateDirHint],
    ])('%s: one ERROR line, exit 1, no stack trace', (_name, err, expected) => {
      const c = io()
      expect(reportError(err, { ...c.io, env })).toBe(1)
      expect(c.err()).toBe(expected)
    })

    test('a step that passed the system message on keeps its name and Dockerfile lines, with the explanation instead', () => {
      const c = io()
      const cause = writeToFullDevice()
      const step = Object.assign(new TsbuildError('EXEC_FAILED', `[2/2] RUN echo one: ${String(cause)}`, { cause }), {
        locations: [{ file: 'Dockerfile', ranges: [{ start: { line: 2, character: 0 }, end: { line: 2, character: 12 } }] }],
        dockerfile,
      })
      expect(reportError(step, { ...c.io, env })).toBe(1)
      expect(c.err()).toContain(' 2 | >>> RUN echo one\n')
      expect(c.err().endsWith('ERROR: [2/2] RUN echo one: no space left on the device holding the state dir /srv/tsbuild (ENOSPC)\n' + stateDirHint)).toBe(true)
      expect(c.err()).not.toMatch(/internal error|\n\s+at /)
    })

    test('an error that already explains the full disk is printed as it is', () => {
      const c = io()
      const err = new TsbuildError('IO', 'output dest=/out: no space left on device (ENOSPC)', { cause: writeToFullDevice() })
      expect(reportError(err, { ...c.io, env })).toBe(1)
      expect(c.err()).toBe('ERROR: output dest=/out: no space left on device (ENOSPC)\n')
    })
  })
})
