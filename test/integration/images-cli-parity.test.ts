// rmi / save / inspect / tag as docker answers them: image IDs, name@digest, conflicts, and unwritable save destinations.
import { execFile } from 'node:child_process'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { ImageStore } from '../../src/cache/index.js'
import type { Digest } from '../../src/common/digest.js'
import { MediaType } from '../../src/common/oci.js'
import { runMain, type CliResult } from '../helpers/inProcess.js'

const run = promisify(execFile)

let work: string
let busybox: string

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tsbuild-images-parity-'))
  busybox = inject('busybox')
})
afterAll(async () => { await rm(work, { recursive: true, force: true }) })

async function tsbuild (root: string, ...argv: string[]): Promise<CliResult> {
  return await runMain(argv, { env: { TSBUILD_ROOT: root, DOCKER_CONFIG: join(root, 'no-docker-config'), PATH: process.env.PATH }, cwd: root })
}

/** A fresh state dir holding the amd64 busybox from the loopback registry, also named `busybox`. */
async function withBusybox (): Promise<{ root: string; digest: Digest; id: string }> {
  const root = await mkdtemp(join(work, 'root-'))
  const pulled = await tsbuild(root, 'pull', '--platform', 'linux/amd64', busybox)
  expect(pulled.code, pulled.stderr).toBe(0)
  expect((await tsbuild(root, 'tag', busybox, 'busybox')).code).toBe(0)
  const digest = (await (await ImageStore.open(root)).get('busybox')).descriptor.digest
  return { root, digest, id: digest.slice('sha256:'.length, 'sha256:'.length + 12) }
}

const names = async (root: string): Promise<string[]> => (await (await ImageStore.open(root)).list()).map((i) => i.name)

describe('tsbuild rmi', () => {
  test('an image ID whose image has several names is a conflict (exit 1) and removes nothing', async () => {
    const { root, id } = await withBusybox()
    const r = await tsbuild(root, 'rmi', id)
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe(
      `ERROR: conflict: unable to delete ${id} (must be forced) - image is referenced in multiple repositories: ${busybox}, busybox:latest\n` +
      `hint: remove the names one by one, or all of them with tsbuild rmi -f ${id}\n`)
    expect(await names(root)).toEqual([busybox, 'docker.io/library/busybox:latest'])
  })

  test.each(['-f', '--force'])('%s with an image ID removes every name of the image', async (flag) => {
    const { root, digest, id } = await withBusybox()
    const r = await tsbuild(root, 'rmi', flag, id)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout.trim().split('\n').sort()).toEqual([`Untagged: ${busybox}@${digest}`, `Untagged: docker.io/library/busybox:latest@${digest}`].sort())
    expect(await names(root)).toEqual([])
  })

  test('a name removes only that name, and an ID with one name left removes it without -f', async () => {
    const { root, digest } = await withBusybox()
    expect((await tsbuild(root, 'rmi', 'busybox')).stdout).toBe(`Untagged: docker.io/library/busybox:latest@${digest}\n`)
    expect(await names(root)).toEqual([busybox])
    const r = await tsbuild(root, 'rmi', digest)
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(`Untagged: ${busybox}@${digest}\n`)
  })

  test('name@digest removes the names of that repository at that digest, not those of another', async () => {
    const { root, digest } = await withBusybox()
    expect((await tsbuild(root, 'tag', 'busybox', 'busybox:other')).code).toBe(0)
    const r = await tsbuild(root, 'rmi', `busybox@${digest}`)
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(`Untagged: docker.io/library/busybox:latest@${digest}\nUntagged: docker.io/library/busybox:other@${digest}\n`)
    expect(await names(root)).toEqual([busybox])
  })

  test('an ID prefix matching two images is ambiguous (exit 1) and names both', async () => {
    const root = await mkdtemp(join(work, 'root-'))
    const images = await ImageStore.open(root)
    const fake = (tail: string): { mediaType: string; digest: Digest; size: number } =>
      ({ mediaType: MediaType.ociManifest, digest: `sha256:c0ffee${tail.repeat(58)}` as Digest, size: 1 })
    await images.put('one:v1', fake('1'))
    await images.put('two:v2', fake('2'))
    const r = await tsbuild(root, 'rmi', 'c0ffee')
    expect(r.code).toBe(1)
    expect(r.stderr.split('\n')[0]).toBe(`ERROR: image ID prefix c0ffee is ambiguous: it matches 2 images: sha256:c0ffee${'1'.repeat(58)} (one:v1); sha256:c0ffee${'2'.repeat(58)} (two:v2)`)
    expect(await names(root)).toHaveLength(2)
  })

  test('an unknown image is one line naming it, exit 1', async () => {
    const { root } = await withBusybox()
    const r = await tsbuild(root, 'rmi', `busybox@sha256:${'0'.repeat(64)}`)
    expect(r.code).toBe(1)
    expect(r.stderr.split('\n')[0]).toBe(`ERROR: image "busybox@sha256:${'0'.repeat(64)}" not found in ${root}`)
  })
})

describe('name@digest and bare digests', () => {
  test('inspect, save and tag find busybox@sha256:…, the bare digest and its ID', async () => {
    const { root, digest, id } = await withBusybox()
    for (const ref of [`busybox@${digest}`, `busybox:latest@${digest}`, `${busybox.replace(/:latest$/, '')}@${digest}`, digest, id]) {
      const inspected = await tsbuild(root, 'inspect', ref)
      expect(inspected.code, `${ref}: ${inspected.stderr}`).toBe(0)
      expect((JSON.parse(inspected.stdout) as { descriptor: { digest: string } }).descriptor.digest).toBe(digest)
    }
    const out = join(root, 'pinned.tar')
    const saved = await tsbuild(root, 'save', '-o', out, `busybox@${digest}`)
    expect(saved.stderr).toBe('')
    expect(saved.code).toBe(0)
    // Asked for by digest, the archive carries no tag (as docker save does); asked for by name, it carries that name.
    const manifestOf = async (tar: string): Promise<Array<{ RepoTags: string[] | null }>> =>
      JSON.parse((await run('tar', ['-xOf', tar, 'manifest.json'])).stdout) as Array<{ RepoTags: string[] | null }>
    expect((await manifestOf(out))[0]!.RepoTags ?? []).toEqual([])
    const byName = join(root, 'named.tar')
    expect((await tsbuild(root, 'save', '-o', byName, 'busybox')).code).toBe(0)
    expect((await manifestOf(byName))[0]!.RepoTags).toEqual(['busybox:latest'])

    expect((await tsbuild(root, 'tag', `busybox@${digest}`, 'pinned:v1')).code).toBe(0)
    expect((await (await ImageStore.open(root)).get('pinned:v1')).descriptor.digest).toBe(digest)
  })

  test.each([
    ['inspect', (ref: string) => ['inspect', ref]],
    ['save', (ref: string) => ['save', '-o', 'x.tar', ref]],
    ['tag', (ref: string) => ['tag', ref, 'copy:v1']],
  ])('%s: a digest stored under another repository is not found, with the names it has', async (_cmd, argv) => {
    const { root, digest } = await withBusybox()
    const r = await tsbuild(root, ...argv(`other@${digest}`))
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(`ERROR: image "other@${digest}" not found in ${root}\nhint: ${digest} is stored as ${busybox}, busybox:latest: use that name, or the bare digest\n`)
  })

  test('tag refuses a target with a digest (exit 1)', async () => {
    const { root, digest } = await withBusybox()
    const r = await tsbuild(root, 'tag', 'busybox', `copy@${digest}`)
    expect(r.code).toBe(1)
    expect(r.stderr.split('\n')[0]).toBe(`ERROR: refusing to create a tag with a digest reference: copy@${digest}`)
  })
})

describe('tsbuild save -o an unwritable destination', () => {
  let root: string
  let immutable: string
  beforeAll(async () => {
    root = (await withBusybox()).root
    immutable = await mkdtemp(join(work, 'immutable-'))
    // chattr +i: writes fail with EPERM, even for root.
    await run('chattr', ['+i', immutable])
  })
  afterAll(async () => { await run('chattr', ['-i', immutable]).catch(() => {}) })

  test.each([
    ['/proc', () => '/proc/tsbuild-x.tar', /^ERROR: save -o \/proc\/tsbuild-x\.tar: open \/proc\/tsbuild-x\.tar\.tmp-\S+: no such file or directory \(ENOENT\)$/],
    ['a new directory under /proc', () => '/proc/tsbuild-x/y.tar', /^ERROR: save -o \/proc\/tsbuild-x\/y\.tar: cannot create \/proc\/tsbuild-x: \/proc does not accept new directories$/],
    ['/sys', () => '/sys/tsbuild-x.tar', /^ERROR: save -o \/sys\/tsbuild-x\.tar: open \/sys\/tsbuild-x\.tar\.tmp-\S+: permission denied \(EACCES\)$/],
    ['an immutable directory', () => join(immutable, 'x.tar'), /^ERROR: save -o \S+\/x\.tar: open \S+\/x\.tar\.tmp-\S+: operation not permitted \(EPERM\)$/],
  ])('%s is one ERROR line naming the path and the cause, exit 1', async (_what, dest, line) => {
    for (const format of ['docker', 'oci']) {
      const r = await tsbuild(root, 'save', '--format', format, '-o', dest(), 'busybox')
      expect(r.stderr.split('\n')[0]).toMatch(line)
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /)
      expect(r.code).toBe(1)
    }
    expect(await readdir(immutable)).toEqual([])
  })
})
