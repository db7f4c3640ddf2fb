import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { describe, expect, test } from 'vitest'
import { hasCode } from '../../common/errors.js'
import type { CommandIo } from '../io.js'
import { run } from './debug.js'

function makeIo (stdinText: string, cwd = '/'): { io: CommandIo; out: () => string } {
  const stdout = new PassThrough()
  let text = ''
  stdout.on('data', (d: Buffer) => { text += d.toString() })
  const io: CommandIo = { stdin: Readable.from([Buffer.from(stdinText)]), stdout, stderr: new PassThrough(), env: {}, cwd }
  return { io, out: () => text }
}

describe('tsbuild debug dump-ast', () => {
  test('reads stdin with "-" or no file', async () => {
    for (const args of [['dump-ast'], ['dump-ast', '-']]) {
      const { io, out } = makeIo('FROM a\nRUN echo hi\n')
      expect(await run(args, io)).toBe(0)
      expect(out()).toBe('(from "a")\n(run "echo hi")\n')
    }
  })

  test('reads a file relative to cwd', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsbuild-debug-'))
    await writeFile(join(dir, 'Dockerfile'), 'FROM a\nCMD ["x"]\n')
    const { io, out } = makeIo('', dir)
    expect(await run(['dump-ast', 'Dockerfile'], io)).toBe(0)
    expect(out()).toBe('(from "a")\n(cmd "x")\n')
  })

  test.each([
    [['nope'], 'USAGE'],
    [[], 'USAGE'],
    [['dump-ast', '/nonexistent/Dockerfile'], 'NOT_FOUND'],
  ] as const)('%j fails with %s', async (args, code) => {
    const { io } = makeIo('')
    const err = await run([...args], io).catch((e: unknown) => e)
    expect(hasCode(err, code)).toBe(true)
  })

  test('a syntax error is a DOCKERFILE_SYNTAX error', async () => {
    const { io } = makeIo('\n')
    expect(hasCode(await run(['dump-ast'], io).catch((e: unknown) => e), 'DOCKERFILE_SYNTAX')).toBe(true)
  })
})
