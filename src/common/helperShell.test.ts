import { spawnSync } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { COMMAND_NOT_FOUND, runHelper } from './helperShell.js'

describe('runHelper', () => {
  test('passes every argument through untouched, whatever the shell would make of it', async () => {
    const args = ["it's", '$HOME', '`id`', 'a b\nc', '*', '--', '\\', '"', ';exit 3', '']
    const r = await runHelper('printf', ['%s\\0', ...args])
    expect(r.code).toBe(0)
    expect(r.stdout.toString('utf8').split('\0').slice(0, -1)).toEqual(args)
  })

  test('returns stdout byte for byte (binary, no trailing newline, large) and stderr apart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsbuild-helper-'))
    const bytes = Buffer.alloc(300_000)
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) & 0xff
    await writeFile(join(dir, 'blob'), bytes)
    const r = await runHelper('cat', [join(dir, 'blob')])
    expect(Buffer.compare(r.stdout, bytes)).toBe(0)
    const failed = await runHelper('ls', [join(dir, 'missing')])
    expect(failed.code).not.toBe(0)
    expect(failed.stdout.length).toBe(0)
    expect(failed.stderr).toMatch(/missing/)
  })

  test('reports exit codes, a missing command and runs in the given directory', async () => {
    expect((await runHelper('sh', ['-c', 'exit 7'])).code).toBe(7)
    const missing = await runHelper('tsbuild-no-such-tool', [])
    expect([missing.code, /not found/.test(missing.stderr)]).toEqual([COMMAND_NOT_FOUND, true])
    const dir = await mkdtemp(join(tmpdir(), 'tsbuild-helper-cwd-'))
    expect((await runHelper('pwd', [], { cwd: dir })).stdout.toString().trim()).toBe(dir)
    // The directory applied to that command only.
    expect((await runHelper('pwd', [])).stdout.toString().trim()).toBe(process.cwd())
  })

  test('many commands at once each get their own output', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, async (_, i) => await runHelper('sh', ['-c', `sleep 0.0${i % 5}; echo ${i}; echo e${i} >&2`])))
    expect(results.map((r) => r.stdout.toString().trim())).toEqual(Array.from({ length: 20 }, (_, i) => String(i)))
    expect(results.map((r) => r.stderr.trim())).toEqual(Array.from({ length: 20 }, (_, i) => `e${i}`))
  })

  test('idle shells do not keep a process alive', () => {
    // The compiled module (the test command builds first): a plain Node process cannot load .ts.
    const compiled = join(import.meta.dirname, '..', '..', 'dist', 'common', 'helperShell.js')
    const script = `import(${JSON.stringify(compiled)}).then(async (m) => { const r = await m.runHelper('true', []); console.log('done', r.code) })`
    const started = Date.now()
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 })
    expect(r.stdout.trim()).toBe('done 0')
    expect(r.status).toBe(0)
    expect(Date.now() - started).toBeLessThan(15_000)
  })
})
