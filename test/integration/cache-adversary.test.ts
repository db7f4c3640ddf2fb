// Changes a user makes between two builds that must (or must not) run a step
// again, found by trying to fool the cache. A wrong hit is the worst a build
// tool can do: the image is silently made of stale files.
import { execFile } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, inject, test } from 'vitest'
import { buildOk, cachedSteps, ensureBuilt, freshDir, parseEvents, ranSteps, spawnTsbuild, writeContext } from '../helpers/tsbuild.js'

const run = promisify(execFile)
const isRoot = process.getuid?.() === 0

let busybox: string
beforeAll(async () => {
  busybox = inject('busybox')
  await ensureBuilt()
})

async function xattr (path: string, name: string): Promise<string> {
  const { stdout } = await run('getfattr', ['-h', '--only-values', '-n', name, '--', path])
  return stdout
}

describe('keys by content see everything a copy keeps', () => {
  // user.* attributes on a tmpfs or overlay need root here; the copy keeps them only as root anyway.
  test.skipIf(!isRoot)('a file copied from a stage that differs only in an extended attribute re-runs the steps after the copy', async () => {
    const root = await freshDir('tsb-root-')
    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: [
        `FROM ${busybox} AS gen`,
        'ADD layer.tar /',
        `FROM ${busybox}`,
        'COPY --from=gen /f /f',
        'RUN cat /f > /g',
      ].join('\n'),
    })
    const tree = await freshDir('tsb-tree-')
    await writeFile(join(tree, 'f'), 'same bytes\n')
    const build = async (note: string, mtime = '2024-01-01'): Promise<{ ran: string[]; cached: string[]; note: string }> => {
      await run('setfattr', ['-n', 'user.note', '-v', note, join(tree, 'f')])
      await run('touch', ['-d', mtime, join(tree, 'f')])
      await run('tar', ['--xattrs', '--xattrs-include=*', '-C', tree, '-cf', join(ctx, 'layer.tar'), 'f'])
      const dest = join(await freshDir('tsb-out-'), 'fs')
      const events = parseEvents((await buildOk(['build', '--progress=rawjson', '-o', `type=local,dest=${dest}`, ctx], { root })).stderr)
      return { ran: ranSteps(events), cached: cachedSteps(events), note: await xattr(join(dest, 'f'), 'user.note') }
    }
    expect((await build('one')).note).toBe('one')
    const changed = await build('two')
    expect(changed.ran.some((n) => n.includes('RUN cat /f'))).toBe(true)
    expect(changed.note).toBe('two')
    // The same attribute on a rebuilt stage (the tarball differs only in a time) is the same content.
    const same = await build('two', '2024-02-02')
    expect(same.ran.some((n) => n.includes('COPY --from=gen'))).toBe(true)
    expect(same.cached.some((n) => n.includes('RUN cat /f'))).toBe(true)
  })
})

describe('the build context read once per build', () => {
  test('a file saved while an earlier step runs never lands in a layer under the digest of what it held before', async () => {
    const root = await freshDir('tsb-root-')
    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: [
        `FROM ${busybox}`,
        'ARG RUNID',
        // The context was scanned before this step: the edit lands after the scan and before the copy.
        'RUN echo "waiting-for-edit $RUNID" && sleep 3',
        'COPY f /f',
      ].join('\n'),
      f: 'old\n',
    })
    const build = async (runId: string, edit?: string): Promise<{ code: number | null; stderr: string; f?: string }> => {
      const dest = join(await freshDir('tsb-out-'), 'fs')
      const b = spawnTsbuild(['build', '--progress=plain', '--build-arg', `RUNID=${runId}`, '-o', `type=local,dest=${dest}`, ctx], { root })
      if (edit !== undefined) {
        while (!b.stderrSoFar().includes(`waiting-for-edit ${runId}`)) await new Promise((resolve) => setTimeout(resolve, 50))
        await writeFile(join(ctx, 'f'), edit)
      }
      const r = await b.done
      return { code: r.code, stderr: r.stderr, ...(r.code === 0 ? { f: await readFile(join(dest, 'f'), 'utf8') } : {}) }
    }
    const edited = await build('1', 'new\n')
    expect(edited.code, edited.stderr).not.toBe(0)
    expect(edited.stderr).toContain('context file f changed while the build was running')
    expect(edited.stderr).not.toMatch(/\n\s+at /)

    // The old content again, and the same RUN (cached): the copy must give the old content.
    await writeFile(join(ctx, 'f'), 'old\n')
    const again = await build('1')
    expect(again.code, again.stderr).toBe(0)
    expect(again.f).toBe('old\n')
  })
})

describe('RUN --mount=type=bind,from=STAGE is keyed by what the mount shows, as in BuildKit', () => {
  test('a rebuilt stage with the same files at the mounted path keeps the step cached; other content or mode there re-runs it', async () => {
    const root = await freshDir('tsb-root-')
    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: [
        `FROM ${busybox} AS gen`,
        'ARG REV=1',
        'ARG OUT=same',
        'ARG MODE=644',
        'RUN echo "rev $REV" > /rev && mkdir /d && echo "$OUT" > /d/out.txt && chmod $MODE /d/out.txt && ln -s /d /dlink',
        `FROM ${busybox}`,
        'RUN --mount=type=bind,from=gen,source=/dlink,target=/b echo MARKER-bound && cat /b/out.txt > /bound.txt && stat -c %a /b/out.txt >> /bound.txt',
      ].join('\n'),
    })
    const build = async (...args: string[]): Promise<{ ran: boolean; bound: string }> => {
      const dest = join(await freshDir('tsb-out-'), 'fs')
      const events = parseEvents((await buildOk(['build', '--progress=rawjson', ...args.flatMap((a) => ['--build-arg', a]), '-o', `type=local,dest=${dest}`, ctx], { root })).stderr)
      return { ran: ranSteps(events).some((n) => n.includes('MARKER-bound')), bound: await readFile(join(dest, 'bound.txt'), 'utf8') }
    }
    expect(await build()).toEqual({ ran: true, bound: 'same\n644\n' })
    // /rev changed, not the mounted directory.
    expect(await build('REV=2')).toEqual({ ran: false, bound: 'same\n644\n' })
    expect(await build('REV=3', 'OUT=other')).toEqual({ ran: true, bound: 'other\n644\n' })
    expect(await build('REV=4', 'OUT=other', 'MODE=755')).toEqual({ ran: true, bound: 'other\n755\n' })
  })
})
