import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { hasCode, TsbuildError } from '../../common/errors.js'
import type { SecretMount } from '../../llb/index.js'
import { resolveSecrets, SecretProvider } from './secrets.js'

const mount = (secretId: string, extra: Partial<SecretMount> = {}): SecretMount =>
  ({ type: 'secret', dest: `/run/secrets/${secretId}`, input: -1, output: -1, readonly: true, secretId, uid: 0, gid: 0, mode: 0o400, optional: false, ...extra })

describe('SecretProvider', () => {
  test('reads file secrets and env secrets from the env it was given, not process.env', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsbuild-secret-'))
    await writeFile(join(dir, 'tok'), 'file-value')
    process.env['TSBUILD_TEST_LEAK'] = 'from-process'
    const p = new SecretProvider([
      { id: 'f', kind: 'file', src: join(dir, 'tok') },
      { id: 'e', kind: 'env', env: 'TOKEN' },
      { id: 'leak', kind: 'env', env: 'TSBUILD_TEST_LEAK' },
    ], { TOKEN: 'env-value' })
    expect((await p.get('f'))?.toString()).toBe('file-value')
    expect((await p.get('e'))?.toString()).toBe('env-value')
    expect(await p.get('leak')).toBeUndefined()
    expect(await p.get('nope')).toBeUndefined()
  })

  test('an unreadable secret file names the secret and the path', async () => {
    const p = new SecretProvider([{ id: 'f', kind: 'file', src: '/nonexistent/tok' }], {})
    await expect(p.get('f')).rejects.toThrow(/secret "f".*\/nonexistent\/tok/)
  })
})

describe('resolveSecrets', () => {
  const provider = new SecretProvider([{ id: 'npm', kind: 'env', env: 'NPM_TOKEN' }], { NPM_TOKEN: 's3cr3t' })

  test('file mounts carry data, mode and owner; env secrets become NAME=value', async () => {
    const parts = await resolveSecrets(provider, [mount('npm', { dest: '/root/.npmrc', mode: 0o440, uid: 1000, gid: 1000 })], [{ id: 'npm', name: 'TOKEN', optional: false }])
    expect(parts.mounts).toEqual([{ type: 'secret', destination: '/root/.npmrc', data: Buffer.from('s3cr3t'), mode: 0o440, uid: 1000, gid: 1000 }])
    expect(parts.env).toEqual(['TOKEN=s3cr3t'])
  })

  test.each([
    ['mount', [mount('missing')], []],
    ['env', [], [{ id: 'missing', name: 'X', optional: false }]],
  ] as const)('a required missing %s secret fails naming the id and how to pass it', async (_kind, mounts, env) => {
    const err = await resolveSecrets(provider, mounts, env).catch((e: unknown) => e)
    expect(hasCode(err, 'NOT_FOUND')).toBe(true)
    expect((err as TsbuildError).message).toContain('"missing"')
    expect((err as TsbuildError).hint).toContain('--secret id=missing')
  })

  test('optional missing secrets are left out', async () => {
    const parts = await resolveSecrets(provider, [mount('missing', { optional: true })], [{ id: 'missing', name: 'X', optional: true }])
    expect(parts).toEqual({ mounts: [], env: [], values: [] })
  })
})
