import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { loadDockerignore } from './dockerignore.js'

describe('loadDockerignore', () => {
  test.each([
    ['an absolute link', '.dockerignore', (outside: string) => join(outside, 'ignore')],
    ['a relative link climbing out', '.dockerignore', () => '../outside/ignore'],
    ['a per-Dockerfile ignore file linked out', 'Dockerfile.dockerignore', (outside: string) => join(outside, 'ignore')],
  ])('%s is followed inside the context, never to the host file', async (_what, name, target) => {
    const base = await mkdtemp(join(tmpdir(), 'tsb-dockerignore-'))
    const outside = join(base, 'outside')
    const ctx = join(base, 'ctx')
    await mkdir(outside)
    await mkdir(ctx)
    await writeFile(join(outside, 'ignore'), 'host-pattern\n')
    await symlink(target(outside), join(ctx, name))
    const got = await loadDockerignore({ contextDir: ctx, dockerfilePath: 'Dockerfile' })
    expect(got.patterns).toEqual([])
  })

  test('a link to a file inside the context is read; an ignore file beside a Dockerfile outside the context is the user\'s own', async () => {
    const base = await mkdtemp(join(tmpdir(), 'tsb-dockerignore-'))
    const ctx = join(base, 'ctx')
    await mkdir(join(ctx, 'conf'), { recursive: true })
    await writeFile(join(ctx, 'conf/ignore'), 'inside\n')
    await symlink('/conf/ignore', join(ctx, '.dockerignore'))
    expect((await loadDockerignore({ contextDir: ctx })).patterns).toEqual(['inside'])
    await writeFile(join(base, 'app.Dockerfile.dockerignore'), 'beside\n')
    expect((await loadDockerignore({ contextDir: ctx, dockerfilePath: '../app.Dockerfile' })).patterns).toEqual(['beside'])
  })
})
