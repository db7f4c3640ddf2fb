// `tsbuild build -`: the context from stdin, as `docker build -` takes it: a
// tar (plain or compressed) with the Dockerfile inside, or just a Dockerfile.
import { execFileSync } from 'node:child_process'
import { mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, inject, test } from 'vitest'
import { buildOk, ensureBuilt, freshDir, runTsbuild } from '../helpers/tsbuild.js'

let busybox: string
beforeAll(async () => {
  busybox = inject('busybox')
  await ensureBuilt()
})

/** The directory as a tar on stdin (`tar -c` with extra flags, e.g. `-z`). */
function tarOf (dir: string, flags: string[] = []): Buffer {
  return execFileSync('tar', ['-C', dir, ...flags, '-c', '.'], { maxBuffer: 64 * 1024 * 1024 })
}

describe('tsbuild build - (the context from stdin)', () => {
  test.each([
    ['a plain tar', []],
    ['a gzip tar', ['-z']],
    ['an xz tar', ['-J']],
  ])('%s is the context, with its Dockerfile and .dockerignore; the temp copy is gone afterwards', async (_name, flags) => {
    const ctx = await freshDir('tsb-ctx-')
    await writeFile(join(ctx, 'Dockerfile'), `FROM ${busybox}\nCOPY . /ctx/\nRUN cat /ctx/a.txt > /seen\n`)
    await writeFile(join(ctx, 'a.txt'), 'from the archive\n')
    await writeFile(join(ctx, 'secret.key'), 'not for the image\n')
    await writeFile(join(ctx, '.dockerignore'), 'secret.key\n')
    const root = await freshDir('tsb-root-')
    const out = await freshDir('tsb-out-')
    await buildOk(['build', '-o', `type=local,dest=${out}`, '-'], { root, input: tarOf(ctx, flags) })
    expect(await readFile(join(out, 'seen'), 'utf8')).toBe('from the archive\n')
    expect((await readdir(join(out, 'ctx'))).sort()).toEqual(['.dockerignore', 'Dockerfile', 'a.txt'])
    expect((await readdir(join(root, 'tmp'))).filter((n) => n.startsWith('stdin-context-'))).toEqual([])
    // Nor a stat cache for a directory that no longer exists.
    expect(await readdir(join(root, 'contexts')).catch(() => [])).toEqual([])
  })

  test('-f names a Dockerfile relative to the archive\'s root; a missing one is a one-line error', async () => {
    const ctx = await freshDir('tsb-ctx-')
    await mkdir(join(ctx, 'ci'))
    await writeFile(join(ctx, 'ci/build.Dockerfile'), `FROM ${busybox}\nCOPY a.txt /b.txt\n`)
    await writeFile(join(ctx, 'a.txt'), 'named\n')
    const root = await freshDir('tsb-root-')
    const out = await freshDir('tsb-out-')
    await buildOk(['build', '-f', 'ci/build.Dockerfile', '-o', `type=local,dest=${out}`, '-'], { root, input: tarOf(ctx) })
    expect(await readFile(join(out, 'b.txt'), 'utf8')).toBe('named\n')
    const r = await runTsbuild(['build', '-f', 'nope/Dockerfile', '-'], { root, input: tarOf(ctx) })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^ERROR: the context from stdin has no nope\/Dockerfile\nhint: /)
  })

  test('a Dockerfile (not an archive) on stdin builds with an empty context', async () => {
    const root = await freshDir('tsb-root-')
    const out = await freshDir('tsb-out-')
    await buildOk(['build', '-o', `type=local,dest=${out}`, '-'], { root, input: `FROM ${busybox}\nRUN echo just a Dockerfile > /note\n` })
    expect(await readFile(join(out, 'note'), 'utf8')).toBe('just a Dockerfile\n')
    const r = await runTsbuild(['build', '-'], { root, input: `FROM ${busybox}\nCOPY missing.txt /\n` })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('missing.txt')
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })

  test('an archive entry that climbs out, or a link out of the context, never reaches outside it', async () => {
    const ctx = await freshDir('tsb-ctx-')
    await writeFile(join(ctx, 'Dockerfile'), `FROM ${busybox}\nCOPY out/ /got/\n`)
    const victim = await freshDir('tsb-victim-')
    await symlink(victim, join(ctx, 'out'))
    await writeFile(join(ctx, 'x.txt'), 'planted\n')
    // The symlink comes first in the archive, then a file "through" it.
    const tarred = execFileSync('tar', ['-C', ctx, '-c', 'Dockerfile', 'out', '--transform', 's,^x.txt$,out/x.txt,', 'x.txt'])
    const root = await freshDir('tsb-root-')
    await runTsbuild(['build', '-'], { root, input: tarred })
    expect(await readdir(victim)).toEqual([])
    const escaping = execFileSync('tar', ['-C', ctx, '-c', '--transform', 's,^x.txt$,../../escaped.txt,', 'Dockerfile', 'x.txt'])
    const r = await runTsbuild(['build', '-'], { root, input: escaping })
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/outside the destination/)
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })

  test('stdin for both the context and the Dockerfile is refused', async () => {
    const r = await runTsbuild(['build', '-f', '-', '-'], { root: await freshDir('tsb-root-'), input: 'FROM scratch\n' })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^ERROR: invalid argument: can't use stdin for both build context and dockerfile\n/)
  })
})
