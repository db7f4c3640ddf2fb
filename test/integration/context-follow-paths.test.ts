// The build context is scanned only where the Dockerfile reads it (BuildKit's
// follow paths): a huge or unreadable part of the context that no COPY, ADD
// or bind mount names costs nothing, and symlinks on the way to a named path
// bring their targets along.
import { mkdirSync, writeFileSync } from 'node:fs'
import { readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, inject, test } from 'vitest'
import { buildOk, ensureBuilt, freshDir, runTsbuild, writeContext } from '../helpers/tsbuild.js'

let busybox: string
let ctx: string

beforeAll(async () => {
  busybox = inject('busybox')
  await ensureBuilt()
  ctx = await writeContext(await freshDir('tsb-ctx-'), {
    'app.txt': 'app\n',
    'real/file': 'through the link\n',
    'link': { symlink: 'real' },
    'scripts/run.sh': 'echo ran > /out/ran\n',
    'src/app.ts': 'ts\n',
    'b.json': 'b\n',
    'a.json': 'a\n',
    'Dockerfile': [
      `FROM ${busybox}`,
      'COPY app.txt /out/',
      'COPY link/file /out/via-link',
      'RUN --mount=type=bind,source=scripts,target=/s sh /s/run.sh',
      // COPY globs follow Go's rules (`**` is `*`, only `^` negates); the scan must select what they select.
      'COPY src/**.ts [^a].json /out/glob/',
      '',
    ].join('\n'),
    'Dockerfile.all': `FROM ${busybox}\nCOPY . /all/\n`,
  })
  // A name that is not valid UTF-8 cannot be read into a context: scanning
  // this directory fails the build, so a build that succeeds did not scan it.
  mkdirSync(join(ctx, 'vendor'))
  writeFileSync(Buffer.concat([Buffer.from(join(ctx, 'vendor') + '/bad-'), Buffer.from([0xff, 0xfe])]), 'x')
})

describe('build context follow paths', () => {
  test('a build reads only the paths it names, following symlinks on the way', async () => {
    const out = join(await freshDir('tsb-out-'), 'fs')
    await buildOk(['build', '-o', `type=local,dest=${out}`, ctx], { root: await freshDir('tsb-root-') })
    expect(await readFile(join(out, 'out/app.txt'), 'utf8')).toBe('app\n')
    expect(await readFile(join(out, 'out/via-link'), 'utf8')).toBe('through the link\n')
    expect(await readFile(join(out, 'out/ran'), 'utf8')).toBe('ran\n')
    expect((await readdir(join(out, 'out/glob'))).sort()).toEqual(['app.ts', 'b.json'])
  })

  test('COPY . still takes the whole context (and meets the unreadable name)', async () => {
    const r = await runTsbuild(['build', '-f', join(ctx, 'Dockerfile.all'), ctx], { root: await freshDir('tsb-root-') })
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/vendor\/bad-.*not valid UTF-8/)
  })

  test('a copy reads, and its cache key covers, exactly what its glob and links select', async () => {
    const dir = await writeContext(await freshDir('tsb-ctx-'), {
      'a.json': 'A\n',
      'b.json': 'B1\n',
      'phys/dir/.keep': '',
      'phys/f': 'DEEP1\n',
      'f': 'TOP\n',
      'physlink': { symlink: 'phys/dir' },
      // `..` after a link leaves the link's target: phys/f, not the top-level f.
      'dotdot': { symlink: 'physlink/../f' },
      'Dockerfile': 'FROM scratch\nCOPY [^a].json /json/\nCOPY dotdot /dotdot\n',
    })
    const root = await freshDir('tsb-root-')
    const build = async (): Promise<string> => {
      const out = join(await freshDir('tsb-out-'), 'fs')
      await buildOk(['build', '-o', `type=local,dest=${out}`, dir], { root })
      return out
    }
    let out = await build()
    expect(await readdir(join(out, 'json'))).toEqual(['b.json'])
    expect(await readFile(join(out, 'dotdot'), 'utf8')).toBe('DEEP1\n')
    await writeFile(join(dir, 'b.json'), 'B2\n')
    await writeFile(join(dir, 'phys/f'), 'DEEP2\n')
    out = await build()
    expect(await readFile(join(out, 'json/b.json'), 'utf8')).toBe('B2\n')
    expect(await readFile(join(out, 'dotdot'), 'utf8')).toBe('DEEP2\n')
  })

  test('a COPY source Go rejects as a pattern fails on its own line; a reversed range matches nothing', async () => {
    const dir = await writeContext(await freshDir('tsb-ctx-'), {
      '[abc': 'a file named like an unclosed class\n',
      'b.txt': 'b\n',
      'Dockerfile': `FROM ${busybox}\nCOPY [abc /x/\n`,
    })
    const root = await freshDir('tsb-root-')
    const r = await runTsbuild(['build', '--progress=plain', dir], { root })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(' 2 | >>> COPY [abc /x/')
    expect(r.stderr).toMatch(/ERROR: \[2\/2\] COPY \[abc \/x\/: syntax error in pattern "\[abc"/)
    // Written as the Dockerfile docs say (a class holding `[`), it is that name.
    await writeFile(join(dir, 'Dockerfile'), `FROM ${busybox}\nCOPY [[]abc [z-a]* /x/\n`)
    const out = await freshDir('tsb-out-')
    await buildOk(['build', '-o', `type=local,dest=${out}`, dir], { root })
    expect(await readdir(join(out, 'x'))).toEqual(['[abc'])
  })
})

