// Extended attributes and special files through a build. File capabilities above all (ping's
// cap_net_raw is a binary security.capability value): a base image whose
// layer carries them unpacks, COPY --from a stage keeps them, and both the
// exported layers and a local export have them, byte for byte.
import { execFile } from 'node:child_process'
import { chmod, lstat, mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { gunzipSync } from 'node:zlib'
import { beforeAll, describe, expect, inject, test } from 'vitest'
import { LocalContentStore } from '../../src/cache/index.js'
import { ANNOTATION_REF_NAME, MediaType, type ImageIndex } from '../../src/common/oci.js'
import { createExportPool, createLayer, writeImageManifest } from '../../src/exporter/index.js'
import { buildOk, ensureBuilt, freshDir, runTsbuild, writeContext } from '../helpers/tsbuild.js'

const run = promisify(execFile)
const isRoot = process.getuid?.() === 0
// What `setcap cap_net_raw+ep` writes: version 2, effective, permitted bit 13.
const CAP_NET_RAW = Buffer.from('0100000200200000000000000000000000000000', 'hex')

let busybox: string
beforeAll(async () => {
  busybox = inject('busybox')
  await ensureBuilt()
})

/** An OCI layout holding one image (tagged `caps`) whose only layer is `dir`. */
async function layoutOf (dir: string): Promise<string> {
  const layout = join(await freshDir('tsb-layout-'), 'layout')
  const store = new LocalContentStore(layout)
  const pool = await createExportPool({ maxThreads: 1 })
  try {
    const layer = await createLayer(dir, { compression: 'gzip', ociMediaTypes: true, sourceDateEpoch: 0, store, pool })
    const image = await writeImageManifest(store, {
      config: { architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [] }, history: [{ created_by: 'test layer with xattrs' }] },
      layers: [layer], ociMediaTypes: true, sourceDateEpoch: 0,
    })
    const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [{ ...image.manifest, annotations: { [ANNOTATION_REF_NAME]: 'caps' } }] }
    await writeFile(join(layout, 'index.json'), JSON.stringify(index))
    await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }))
  } finally {
    await pool.destroy()
  }
  return layout
}

/** One attribute's value as getfattr shows it in hex (`0x…`). */
async function xattr (path: string, name: string): Promise<string> {
  const { stdout } = await run('getfattr', ['-h', '-e', 'hex', '-n', name, '--', path])
  return /=(0x[0-9a-f]*)/.exec(stdout)?.[1] ?? ''
}

describe.skipIf(!isRoot)('extended attributes and special files (needs root for security.capability and mknod)', () => {
  test('a base layer with file capabilities unpacks, and COPY --from keeps them in the image and in a local export', async () => {
    const base = await freshDir('tsb-xattr-base-')
    await mkdir(join(base, 'bin'))
    await mkdir(join(base, 'etc'))
    await writeFile(join(base, 'bin/ping'), '#!/bin/sh\necho pong\n')
    await chmod(join(base, 'bin/ping'), 0o755)
    await writeFile(join(base, 'etc/conf'), 'x=1\n')
    await run('setfattr', ['-h', '-n', 'security.capability', '-v', `0x${CAP_NET_RAW.toString('hex')}`, '--', join(base, 'bin/ping')])
    await run('setfattr', ['-h', '-n', 'user.note', '-v', 'kept', '--', join(base, 'etc/conf')])
    const layout = await layoutOf(base)

    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      // The copies read the base layer unpacked into a snapshot.
      Dockerfile: `FROM capbase AS base\nFROM ${busybox}\nCOPY --from=base /bin/ping /bin/ping2\nCOPY --from=base /etc /etc2\n`,
    })
    const root = await freshDir('tsb-root-')
    const context = ['--build-context', `capbase=oci-layout://${layout}:caps`]
    const dest = join(await freshDir('tsb-out-'), 'fs')
    await buildOk(['build', ...context, '-o', `type=local,dest=${dest}`, ctx], { root })
    expect(await readFile(join(dest, 'bin/ping2'), 'utf8')).toBe('#!/bin/sh\necho pong\n')
    expect(await xattr(join(dest, 'bin/ping2'), 'security.capability')).toBe(`0x${CAP_NET_RAW.toString('hex')}`)
    expect(await xattr(join(dest, 'etc2/conf'), 'user.note')).toBe('0x6b657074') // "kept"

    // The image's own layers carry them as PAX records with the raw bytes (what Docker and BuildKit write).
    const oci = join(await freshDir('tsb-oci-'), 'layout')
    await buildOk(['build', ...context, '-o', `type=oci,tar=false,dest=${oci}`, ctx], { root })
    const blobs = await Promise.all((await readdir(join(oci, 'blobs/sha256'))).map(async (f) => await readFile(join(oci, 'blobs/sha256', f))))
    const tars = blobs.filter((b) => b[0] === 0x1f && b[1] === 0x8b).map((b) => gunzipSync(b))
    const record = Buffer.concat([Buffer.from('SCHILY.xattr.security.capability='), CAP_NET_RAW, Buffer.from('\n')])
    expect(tars.filter((t) => t.includes(record) && t.includes(Buffer.from('bin/ping2')))).toHaveLength(1)
  })

  test('a RUN failing while another stage\'s base image unpacks ends in the step\'s error, not a crash', async () => {
    const base = await freshDir('tsb-xattr-base-')
    await mkdir(join(base, 'bin'))
    await writeFile(join(base, 'bin/tool'), 'not a program\n')
    const layout = await layoutOf(base)
    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      // /bin/sh is missing from capbase, so the RUN fails at once, while busybox's layer is still being unpacked.
      Dockerfile: `FROM capbase AS broken\nRUN ["/bin/sh", "-c", "true"]\nFROM ${busybox}\nCOPY --from=broken /bin/tool /tool\n`,
    })
    for (let i = 0; i < 3; i++) {
      const r = await runTsbuild(['build', '--build-context', `capbase=oci-layout://${layout}:caps`, ctx], { root: await freshDir('tsb-root-') })
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/ERROR: process "\/bin\/sh -c true" did not complete successfully/)
      expect(r.stderr).not.toMatch(/AbortError|triggerUncaughtException|internal error/)
    }
  })

  test('COPY --from a stage brings its device nodes and FIFOs along', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: `FROM ${busybox} AS dev\nRUN mkdir /nodes && mkfifo /nodes/fifo && mknod /nodes/null2 c 1 3 && chmod 600 /nodes/null2 && mknod -m 666 /nodes/zero c 1 5\nFROM ${busybox}\nCOPY --from=dev /nodes/ /out/\n`,
    })
    const root = await freshDir('tsb-root-')
    const dest = join(await freshDir('tsb-out-'), 'fs')
    await buildOk(['build', '-o', `type=local,dest=${dest}`, ctx], { root })
    expect((await lstat(join(dest, 'out/fifo'))).isFIFO()).toBe(true)
    const dev = await lstat(join(dest, 'out/null2'))
    expect([dev.isCharacterDevice(), dev.rdev >> 8, dev.rdev & 0xff, dev.mode & 0o777]).toEqual([true, 1, 3, 0o600])
    // On the host a node is owner-only (anyone could open it otherwise); a tar keeps the image's mode.
    expect((await lstat(join(dest, 'out/zero'))).mode & 0o777).toBe(0o600)
    const tarFile = join(await freshDir('tsb-out-'), 'fs.tar')
    await buildOk(['build', '-o', `type=tar,dest=${tarFile}`, ctx], { root })
    const { stdout } = await run('tar', ['-tvf', tarFile])
    expect(stdout).toMatch(/^crw-rw-rw- .* out\/zero$/m)
    expect(stdout).toMatch(/^prw-r--r-- .* out\/fifo$/m)
  })

  test('ADD of a root filesystem tarball keeps file capabilities, attributes, device nodes and FIFOs', async () => {
    const tree = await freshDir('tsb-rootfs-')
    await mkdir(join(tree, 'bin'))
    await mkdir(join(tree, 'dev'))
    await writeFile(join(tree, 'bin/ping'), '#!/bin/sh\necho pong\n')
    await chmod(join(tree, 'bin/ping'), 0o755)
    await run('setfattr', ['-h', '-n', 'security.capability', '-v', `0x${CAP_NET_RAW.toString('hex')}`, '--', join(tree, 'bin/ping')])
    await run('setfattr', ['-h', '-n', 'user.note', '-v', 'kept', '--', join(tree, 'dev')])
    await run('mknod', ['-m', '666', join(tree, 'dev/null'), 'c', '1', '3'])
    await run('mkfifo', [join(tree, 'dev/initctl')])
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: 'FROM scratch\nADD rootfs.tar.gz /\n' })
    // What a rootfs tarball build script writes: GNU tar with its xattrs as PAX records.
    await run('tar', ['--xattrs', '--xattrs-include=*', '-czf', join(ctx, 'rootfs.tar.gz'), '-C', tree, '.'])
    const dest = join(await freshDir('tsb-out-'), 'fs')
    await buildOk(['build', '-o', `type=local,dest=${dest}`, ctx], { root: await freshDir('tsb-root-') })
    expect(await xattr(join(dest, 'bin/ping'), 'security.capability')).toBe(`0x${CAP_NET_RAW.toString('hex')}`)
    expect(await xattr(join(dest, 'dev'), 'user.note')).toBe('0x6b657074')
    const dev = await lstat(join(dest, 'dev/null'))
    expect([dev.isCharacterDevice(), dev.rdev >> 8, dev.rdev & 0xff]).toEqual([true, 1, 3])
    expect((await lstat(join(dest, 'dev/initctl'))).isFIFO()).toBe(true)
  })
})
