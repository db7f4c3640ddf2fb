import { expect, test } from 'vitest'
import { ExecFailedError, ExecStartError } from './runc.js'

// A RUN line over the kernel's 128 KiB argument limit fails with E2BIG; its error must still fit a screen.
const longLine = ['/bin/sh', '-c', `echo ${'x'.repeat(200_000)}`]

test.each([
  ['exit code', () => new ExecFailedError(longLine, 1, ['exec /bin/sh: argument list too long'])],
  ['start failure', () => new ExecStartError(longLine, 'exec /bin/sh: argument list too long')],
])('%s: a 200 KB command is quoted once, shortened, with its size', (_, make) => {
  const err = make()
  expect(err.message.length).toBeLessThan(1000)
  const quoted = err.message.match(/x{10,}/g) ?? []
  expect(quoted).toHaveLength(1)
  expect(quoted[0]!.length).toBe(200 - 'echo '.length - '/bin/sh -c '.length)
  expect(err.message).toContain(`… (${longLine.join(' ').length} bytes)" did not complete successfully`)
})

test('a short command is quoted whole, as Docker does', () => {
  expect(new ExecFailedError(['/bin/sh', '-c', 'exit 3'], 3, []).message).toBe('process "/bin/sh -c exit 3" did not complete successfully: exit code: 3')
})

test('a limit runc may not set names the --ulimit that asked for it', () => {
  const err = new ExecStartError(['true'], 'unable to start container process: error during container init: error setting rlimits for ready process: error setting rlimit type 7: operation not permitted')
  expect(err.hint).toMatch(/^--ulimit nofile asks for more than tsbuild's own hard limit/)
})
