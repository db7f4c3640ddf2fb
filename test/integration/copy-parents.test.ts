// COPY --parents through the tsbuild CLI, as BuildKit does it: the source is
// split at a `/./` pivot (or taken from the root), and the rest selects what
// is copied as an include pattern (`**` allowed), keeping the directories
// below the pivot. A path without wildcards must exist.
import { readFile, readdir, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { beforeAll, describe, expect, inject, test } from 'vitest'
import { buildOk, ensureBuilt, freshDir, runTsbuild, writeContext } from '../helpers/tsbuild.js'

let busybox: string
let out: string
let root: string
let ctx: string

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

async function filesUnder (dir: string): Promise<string[]> {
  const found: string[] = []
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(d, e.name))
      else found.push(relative(dir, join(d, e.name)))
    }
  }
  await walk(dir)
  return found.sort()
}

beforeAll(async () => {
  busybox = inject('busybox')
  await ensureBuilt()
  ctx = await writeContext(await freshDir('tsb-ctx-'), {
    'src/a.txt': 'a\n',
    'src/x/b.txt': 'b\n',
    'src/x/y/c.txt': 'c\n',
    'src/x/y/skip.md': 'md\n',
    'x/y.txt': 'y1\n',
    'x/1/2/y.txt': 'y2\n',
    'x/1/2/other.txt': 'other\n',
    'a/b/c.txt': 'abc\n',
    'Dockerfile': [
      `FROM ${busybox} AS s`,
      'RUN mkdir -p /out/bin/x && echo 1 > /out/bin/x/tool',
      `FROM ${busybox}`,
      'COPY --parents ./src/**/*.txt /p3/',
      'COPY --parents ./x/**/y.txt /p1/',
      'COPY --parents ./a/./b/c.txt /p2/',
      'COPY --parents --from=s /out/./bin/x /d1/',
      'COPY --parents --exclude=**/*.md src/x /p4/',
      '',
    ].join('\n'),
  })
  root = await freshDir('tsb-root-')
  out = join(await freshDir('tsb-out-'), 'fs')
  await buildOk(['build', '-o', `type=local,dest=${out}`, ctx], { root })
})

describe('COPY --parents', () => {
  test.each([
    ['./src/**/*.txt /p3/', 'p3', ['src/a.txt', 'src/x/b.txt', 'src/x/y/c.txt']],
    ['./x/**/y.txt /p1/', 'p1', ['x/1/2/y.txt', 'x/y.txt']],
    ['./a/./b/c.txt /p2/', 'p2', ['b/c.txt']],
    ['--from=s /out/./bin/x /d1/', 'd1', ['bin/x/tool']],
    ['--exclude=**/*.md src/x /p4/', 'p4', ['src/x/b.txt', 'src/x/y/c.txt']],
  ])('COPY --parents %s gives exactly the selected files under /%s', async (_step, dir, want) => {
    expect(await filesUnder(join(out, dir))).toEqual(want)
  })

  test('file contents are copied', async () => {
    expect(await readFile(join(out, 'p1/x/1/2/y.txt'), 'utf8')).toBe('y2\n')
    expect(await readFile(join(out, 'd1/bin/x/tool'), 'utf8')).toBe('1\n')
  })

  test('the cache key covers exactly what the pattern selects, at any depth', async () => {
    const step = '[stage-1 2/6] COPY --parents ./src/**/*.txt /p3/'
    const rebuild = async (): Promise<string> => (await buildOk(['build', '--progress', 'plain', ctx], { root })).stderr
    await writeFile(join(ctx, 'x/1/2/other.txt'), 'changed, not selected\n')
    expect(await rebuild()).toMatch(new RegExp(`${escape(step)}\\n#\\d+ CACHED`))
    await writeFile(join(ctx, 'src/x/y/c.txt'), 'changed three levels down\n')
    expect(await rebuild()).not.toMatch(new RegExp(`${escape(step)}\\n#\\d+ CACHED`))
  })

  test('a path without wildcards that is not there fails the step and names it', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      'a/b/other.txt': 'x\n',
      'Dockerfile': `FROM ${busybox}\nCOPY --parents ./a/./b/missing.txt /p/\n`,
    })
    const res = await runTsbuild(['build', '--progress', 'plain', ctx], { root })
    expect(res.code).toBe(1)
    expect(res.stderr).toMatch(/missing\.txt/)
    expect(res.stderr).toMatch(/not found/)
  })
})
