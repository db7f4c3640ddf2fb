// RUN --mount=type=cache,from=STAGE,source=DIR: a new cache starts as a copy
// of the stage's directory (owners, modes and links kept); an existing cache
// keeps what earlier steps wrote; a plain cache of the same id stays apart.
import { beforeAll, describe, expect, inject, test } from 'vitest'
import { buildOk, ensureBuilt, freshDir, logText, parseEvents, writeContext } from '../helpers/tsbuild.js'

let busybox: string
beforeAll(async () => {
  busybox = inject('busybox')
  await ensureBuilt()
})

async function build (root: string, dockerfile: string[], ...extra: string[]): Promise<string> {
  const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: dockerfile.join('\n') + '\n' })
  const r = await buildOk(['build', '--progress=rawjson', ...extra, ctx], { root })
  return logText(parseEvents(r.stderr))
}

describe('cache mount from a stage', () => {
  test('a new cache holds the stage\'s files at source', async () => {
    const log = await build(await freshDir('tsb-root-'), [
      `FROM ${busybox} AS s`,
      'RUN mkdir /seed && echo seeded > /seed/f',
      `FROM ${busybox}`,
      'RUN --mount=type=cache,from=s,source=/seed,target=/c,id=new1 cat /c/f',
    ])
    expect(log).toContain('seeded\n')
  })

  test('later builds keep what a step wrote to the cache; it is not seeded over', async () => {
    const root = await freshDir('tsb-root-')
    const dockerfile = [
      `FROM ${busybox} AS s`,
      'RUN mkdir /seed && echo seeded > /seed/f',
      `FROM ${busybox}`,
      'ARG RUN_ID',
      'RUN --mount=type=cache,from=s,source=/seed,target=/c,id=grow echo "f=$(cat /c/f) own=[$(cat /c/own 2>/dev/null | tr \'\\n\' \' \')]" && echo $RUN_ID >> /c/own && echo changed-$RUN_ID > /c/f',
    ]
    expect(await build(root, dockerfile, '--build-arg', 'RUN_ID=1')).toContain('f=seeded own=[]\n')
    expect(await build(root, dockerfile, '--build-arg', 'RUN_ID=2')).toContain('f=changed-1 own=[1 ]\n')
    expect(await build(root, dockerfile, '--build-arg', 'RUN_ID=3')).toContain('f=changed-2 own=[1 2 ]\n')
  })

  test('owners, modes and symlinks come with the files; a plain cache of the same id stays empty', async () => {
    const log = await build(await freshDir('tsb-root-'), [
      `FROM ${busybox} AS s`,
      'RUN mkdir -p /seed/sub && echo x > /seed/sub/f && chown 1000:1001 /seed/sub/f && chmod 640 /seed/sub/f && ln -s sub/f /seed/link && chown 7:8 /seed && chmod 750 /seed',
      `FROM ${busybox}`,
      'RUN --mount=type=cache,from=s,source=/seed,target=/c,id=attrs echo "f $(stat -c \'%u:%g %a\' /c/sub/f) dir $(stat -c \'%u:%g %a\' /c) link $(readlink /c/link) $(cat /c/link)"',
      'RUN --mount=type=cache,target=/c,id=attrs echo "plain [$(ls -A /c)]"',
    ])
    expect(log).toContain('f 1000:1001 640 dir 7:8 750 link sub/f x\n')
    expect(log).toContain('plain []\n')
  })

  test('from= without source= copies the whole stage root', async () => {
    const log = await build(await freshDir('tsb-root-'), [
      `FROM ${busybox} AS s`,
      'RUN echo top > /marker',
      `FROM ${busybox}`,
      'RUN --mount=type=cache,from=s,target=/c,id=whole cat /c/marker && test -x /c/bin/busybox && echo whole-ok',
    ])
    expect(log).toContain('top\nwhole-ok\n')
  })

  test('sharing=private and sharing=locked start from the stage too; a readonly cache shows it and refuses writes', async () => {
    const log = await build(await freshDir('tsb-root-'), [
      `FROM ${busybox} AS s`,
      'RUN mkdir /seed && echo seeded > /seed/f',
      `FROM ${busybox}`,
      'RUN --mount=type=cache,from=s,source=/seed,target=/c,id=p,sharing=private echo "private $(cat /c/f)"',
      'RUN --mount=type=cache,from=s,source=/seed,target=/c,id=l,sharing=locked echo "locked $(cat /c/f)"',
      'RUN --mount=type=cache,from=s,source=/seed,target=/c,id=r,readonly echo "readonly $(cat /c/f)" && if touch /c/new 2>/dev/null; then echo writable; else echo refused; fi',
    ])
    expect(log).toContain('private seeded\n')
    expect(log).toContain('locked seeded\n')
    expect(log).toContain('readonly seeded\nrefused\n')
  })

  test('uid=/gid=/mode= without from= still set the new directory\'s owner and mode', async () => {
    const log = await build(await freshDir('tsb-root-'), [
      `FROM ${busybox}`,
      'RUN --mount=type=cache,target=/u,id=perm,uid=1000,gid=1001,mode=0710 echo "perm $(stat -c \'%u:%g %a\' /u) [$(ls -A /u)]"',
    ])
    expect(log).toContain('perm 1000:1001 710 []\n')
  })
})
