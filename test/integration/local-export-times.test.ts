// File times in rootfs exports (-o type=local, -o type=tar): every directory
// keeps the time its newest layer gives it, also when that layer writes into
// it, so an export with SOURCE_DATE_EPOCH is the same on every run.
import { execFile } from 'node:child_process'
import { lstat, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, inject, test } from 'vitest'
import { buildOk, ensureBuilt, freshDir, writeContext } from '../helpers/tsbuild.js'

const run = promisify(execFile)
const EPOCH = 1_700_000_000

let busybox: string
let root: string
let ctx: string
beforeAll(async () => {
  busybox = inject('busybox')
  await ensureBuilt()
  root = await freshDir('tsb-root-')
  ctx = await writeContext(await freshDir('tsb-ctx-'), {
    Dockerfile: [
      `FROM ${busybox}`,
      'RUN mkdir -p /w/x/old && touch /w/x/f /w/x/old/o',
      // A later layer writes into /w/x (a new file, a deleted file, a deleted
      // directory) and so carries /w/x again; the export must end with that entry's time.
      'RUN touch /w/x/g && rm /w/x/f && rm -r /w/x/old',
    ].join('\n'),
  })
})

/** Seconds of mtime of every path, relative to `dir`. */
async function mtimes (dir: string, paths: readonly string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const p of paths) out[p] = Math.floor((await lstat(join(dir, p))).mtimeMs / 1000)
  return out
}

describe('rootfs export times with SOURCE_DATE_EPOCH', () => {
  const paths = ['w', 'w/x', 'w/x/g']
  const all = (t: number): Record<string, number> => Object.fromEntries(paths.map((p) => [p, t]))

  test('-o type=local: a directory a later layer writes into keeps that layer\'s time', async () => {
    const dest = join(await freshDir('tsb-out-'), 'fs')
    await buildOk(['build', '--build-arg', `SOURCE_DATE_EPOCH=${EPOCH}`, '-o', `type=local,dest=${dest}`, ctx], { root })
    expect(await mtimes(dest, paths)).toEqual(all(EPOCH))
  })

  test('-o type=tar: the same times in the archive', async () => {
    const out = await freshDir('tsb-out-')
    const tar = join(out, 'fs.tar')
    await buildOk(['build', '--build-arg', `SOURCE_DATE_EPOCH=${EPOCH}`, '-o', `type=tar,dest=${tar}`, ctx], { root })
    const dest = join(out, 'x')
    await mkdir(dest)
    await run('tar', ['-xf', tar, '-C', dest, 'w'])
    expect(await mtimes(dest, paths)).toEqual(all(EPOCH))
  })
})
