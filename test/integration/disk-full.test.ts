// A full disk under the state dir: the build fails with one `ERROR:` line that
// names the state dir (exit 1, no stack trace), and nothing it leaves behind
// breaks the next build once space is back — every blob still hashes to its
// name, in the state dir and in what `save` and `-o type=tar` write.
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { readdir, rm, stat, statfs, truncate } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { buildOk, ensureBuilt, freshDir, runTsbuild, writeContext, type TsbuildRun } from '../helpers/tsbuild.js'

const run = promisify(execFile)
const MiB = 1 << 20

let busybox: string
const mounts: string[] = []
beforeAll(async () => {
  await ensureBuilt()
  busybox = inject('busybox')
})
afterAll(async () => {
  // Lazily when busy: an overlay left mounted below must not keep the tmpfs (or the run) hanging.
  for (const m of mounts) await run('umount', [m]).catch(async () => await run('umount', ['-l', m]).catch(() => {}))
})

/** A fresh tmpfs of `size` MiB to serve as the state dir. */
async function smallStateDir (size: number): Promise<string> {
  const root = await freshDir('tsb-full-')
  await run('mount', ['-t', 'tmpfs', '-o', `size=${size}m`, 'tmpfs', root])
  mounts.push(root)
  return root
}

/** Take all free space on the filesystem of `root` but `leave` bytes; returns the filler's path. */
async function fill (root: string, leave: number): Promise<string> {
  const filler = join(root, 'filler')
  const fs = await statfs(root)
  const take = fs.bavail * fs.bsize - leave
  expect(take).toBeGreaterThan(0)
  await run('fallocate', ['-l', String(take), filler])
  return filler
}

async function sha256File (path: string): Promise<string> {
  const h = createHash('sha256')
  for await (const c of createReadStream(path)) h.update(c as Buffer)
  return h.digest('hex')
}

/** Every file under `dir`/blobs/sha256 hashes to its name (and is not empty where its name is not the empty digest). */
async function expectIntactBlobs (dir: string): Promise<number> {
  const blobs = join(dir, 'blobs', 'sha256')
  const names = await readdir(blobs)
  const wrong: string[] = []
  for (const name of names) if (await sha256File(join(blobs, name)) !== name) wrong.push(name)
  expect(wrong).toEqual([])
  return names.length
}

function expectOneLineNoSpace (r: TsbuildRun, root: string): void {
  expect(r.code, r.stderr).toBe(1)
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('ERROR:'))
  expect(errors, r.stderr).toHaveLength(1)
  expect(errors[0]).toMatch(new RegExp(`no space left on the device holding the state dir ${root} \\(ENOSPC\\)`))
  expect(r.stderr).not.toMatch(/internal error|\n\s+at /)
}

describe('a build on a full state dir', () => {
  test('a layer that does not fit fails with one line naming the state dir; with space back, the build and its exports are intact', async () => {
    const root = await smallStateDir(48)
    await buildOk(['build', '-t', 'warm', await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN echo warm > /warm\n` })], { root })
    // Room for what the RUN writes (9 MB) but not also for its layer blob (random bytes do not compress).
    const filler = await fill(root, 12 * MiB)
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN head -c 9000000 /dev/urandom > /big\n` })
    const full = await runTsbuild(['build', '-t', 'big', ctx], { root })
    expectOneLineNoSpace(full, root)
    expect(await readdir(join(root, 'tmp'))).toEqual([])
    await expectIntactBlobs(root)

    await rm(filler)
    await buildOk(['build', '-t', 'big', ctx], { root })
    expect(await expectIntactBlobs(root)).toBeGreaterThan(0)

    const out = await freshDir('tsb-full-out-')
    await buildOk(['save', '--format', 'oci', '-o', join(out, 'big.tar'), 'big'], { root })
    const saved = join(out, 'saved')
    await run('mkdir', [saved])
    await run('tar', ['-xf', join(out, 'big.tar'), '-C', saved])
    expect(await expectIntactBlobs(saved)).toBeGreaterThanOrEqual(3) // manifest, config, layers
    // skopeo reads the archive through its manifest and checks each blob it copies.
    await run('skopeo', ['copy', '-q', `oci-archive:${join(out, 'big.tar')}`, `dir:${join(out, 'copied')}`])

    await buildOk(['build', '-o', `type=tar,dest=${join(out, 'fs.tar')}`, ctx], { root })
    const listing = (await run('tar', ['-tvf', join(out, 'fs.tar')], { maxBuffer: 16 * MiB })).stdout
    expect(listing).toMatch(/ 9000000 \S+ \S+ big\n/)
  })

  test('a RUN that fills the disk itself fails as its step, with a hint that the state dir\'s device is full', async () => {
    const root = await smallStateDir(32)
    await buildOk(['build', '-t', 'warm', await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN echo warm > /warm\n` })], { root })
    const filler = await fill(root, 3 * MiB)
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN head -c 9000000 /dev/urandom > /big\n` })
    const r = await runTsbuild(['build', '--progress', 'plain', ctx], { root })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/ERROR: \[2\/2\] RUN head -c 9000000/)
    expect(r.stderr).toContain(`the device holding the state dir ${root} is (nearly) full`)
    expect(r.stderr).not.toMatch(/internal error|at .*\.js:\d+/)
    await rm(filler)
    await buildOk(['build', ctx], { root })
  })

  // The busybox layer is under 1 MB compressed and over 2.5 MB unpacked: 256 KiB of room fails
  // writing its blob, 2000 KiB fails unpacking it (a write Node reports without any path).
  test.each([
    ['its blob is written', 256],
    ['its layer is unpacked', 2000],
  ])('a base image that does not fit while %s fails with one line naming the state dir, and pulls whole once there is space', async (_when, kib) => {
    const root = await smallStateDir(16)
    const filler = await fill(root, kib << 10)
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN echo pulled > /pulled\n` })
    expectOneLineNoSpace(await runTsbuild(['build', '-t', 'pulled', ctx], { root }), root)
    expect(await readdir(join(root, 'tmp'))).toEqual([])
    await rm(filler)
    await buildOk(['build', '-t', 'pulled', ctx], { root })
    expect(await expectIntactBlobs(root)).toBeGreaterThan(0)
    expect((await stat(join(root, 'index.json'))).size).toBeGreaterThan(0)
  })
})

describe('blobs cut short by an earlier full disk', () => {
  test('are replaced by the next build, not trusted for their name', async () => {
    const root = await freshDir('tsb-root-')
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN head -c 300000 /dev/urandom > /big\n` })
    await buildOk(['build', '-t', 'cut', ctx], { root })
    // What a write that ignored short counts left: every blob over 100 kB truncated under its own name.
    const blobs = join(root, 'blobs', 'sha256')
    let cut = 0
    for (const name of await readdir(blobs)) {
      if ((await stat(join(blobs, name))).size > 100_000) { await truncate(join(blobs, name), 50_000); cut++ }
    }
    expect(cut).toBeGreaterThanOrEqual(2) // the base layer and the RUN's layer
    await buildOk(['build', '-t', 'cut', ctx], { root })
    const out = await freshDir('tsb-cut-out-')
    await buildOk(['save', '--format', 'oci', '-o', join(out, 'cut.tar'), 'cut'], { root })
    await run('skopeo', ['copy', '-q', `oci-archive:${join(out, 'cut.tar')}`, `dir:${join(out, 'copied')}`])
    const saved = join(out, 'saved')
    await run('mkdir', [saved])
    await run('tar', ['-xf', join(out, 'cut.tar'), '-C', saved])
    expect(await expectIntactBlobs(saved)).toBeGreaterThanOrEqual(4)
  })
})

describe('a full output destination', () => {
  test.each([
    ['type=tar', 'fs.tar'],
    ['type=oci', 'image.tar'],
    ['type=local', 'rootfs'],
  ])('-o %s on a full device fails with one line naming the destination, not the state dir', async (type, name) => {
    const root = await freshDir('tsb-root-')
    const dev = await smallStateDir(1)
    const dest = join(dev, name)
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN head -c 3000000 /dev/urandom > /big\n` })
    const r = await runTsbuild(['build', '-o', `${type},dest=${dest}`, ctx], { root })
    expect(r.code, r.stderr).toBe(1)
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('ERROR:'))
    expect(errors, r.stderr).toHaveLength(1)
    expect(errors[0]).toContain(dest)
    expect(errors[0]).toMatch(/no space left on (the )?device/)
    expect(errors[0]).not.toContain(root)
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /)
  })
  test('save -o FILE on a full device fails with one line naming the file', async () => {
    const root = await freshDir('tsb-root-')
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nRUN head -c 3000000 /dev/urandom > /big\n` })
    await buildOk(['build', '-t', 'tosave', ctx], { root })
    const out = join(await smallStateDir(1), 'saved.tar')
    const r = await runTsbuild(['save', '-o', out, 'tosave'], { root })
    expect(r.code, r.stderr).toBe(1)
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('ERROR:'))
    expect(errors, r.stderr).toHaveLength(1)
    expect(errors[0]).toContain(out)
    expect(errors[0]).not.toContain(root)
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /)
  })
})
