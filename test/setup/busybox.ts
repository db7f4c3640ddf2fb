import { execFile } from 'node:child_process'
import { chmod, mkdir, mkdtemp, readdir, rename, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/**
 * A busybox root filesystem for `arch`, built from Debian's busybox-static
 * package and cached under `cacheDir` (e.g. `<repo>/.cache/fixtures`).
 * Contains /bin/busybox with its applet links, /etc/passwd and /etc/group
 * (root, nobody, and a `builder` user for USER tests), /tmp, /proc, /dev, /sys.
 */
export async function ensureBusyboxRootfs (arch: 'amd64' | 'arm64', cacheDir: string): Promise<string> {
  const target = join(cacheDir, `busybox-rootfs-${arch}`)
  if (await exists(join(target, 'bin', 'sh'))) return target
  await mkdir(cacheDir, { recursive: true })
  const deb = await ensureDeb(arch, cacheDir)
  const staging = await mkdtemp(join(cacheDir, `.busybox-${arch}-`))
  try {
    const extracted = join(staging, 'deb')
    await run('dpkg-deb', ['-x', deb, extracted])
    const root = join(staging, 'rootfs')
    for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'tmp', 'proc', 'sys', 'dev', 'root', 'home/builder']) await mkdir(join(root, d), { recursive: true })
    await chmod(join(root, 'tmp'), 0o1777)
    await rename(join(extracted, 'bin', 'busybox'), join(root, 'bin', 'busybox'))
    for (const applet of await appletPaths(arch, join(root, 'bin', 'busybox'))) {
      const linkPath = join(root, applet)
      if (applet === 'bin/busybox' || await exists(linkPath)) continue
      await mkdir(dirname(linkPath), { recursive: true })
      await symlink('/bin/busybox', linkPath)
    }
    await writeFile(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nbuilder:x:1000:1000:builder:/home/builder:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n')
    await writeFile(join(root, 'etc', 'group'), 'root:x:0:\nbuilder:x:1000:\nwheel:x:10:builder\nnobody:x:65534:\n')
    await rename(root, target).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err // another run built it first
    })
    return target
  } finally {
    await rm(staging, { recursive: true, force: true })
  }
}

async function ensureDeb (arch: string, cacheDir: string): Promise<string> {
  const find = async (dir: string): Promise<string | undefined> =>
    (await readdir(dir).catch(() => [] as string[])).filter((f) => f.startsWith('busybox-static_') && f.endsWith(`_${arch}.deb`)).map((f) => join(dir, f))[0]
  const cached = await find(cacheDir)
  if (cached !== undefined) return cached
  await run('apt-get', ['download', `busybox-static:${arch}`], { cwd: cacheDir })
  const downloaded = await find(cacheDir)
  if (downloaded === undefined) throw new Error(`apt-get download busybox-static:${arch} produced no .deb in ${cacheDir}`)
  return downloaded
}

// Applets with their install dirs; the arm64 binary cannot run here without qemu, so ask it through
// qemu when present and otherwise fall back to the host's busybox-static list (the same version's applets).
async function appletPaths (arch: string, busybox: string): Promise<string[]> {
  const tries: Array<[string, string[]]> = [[busybox, ['--list-full']]]
  if (arch === 'arm64') tries.unshift(['qemu-aarch64-static', [busybox, '--list-full']], ['/bin/busybox', ['--list-full']])
  for (const [cmd, args] of tries) {
    try {
      const { stdout } = await run(cmd, args)
      const list = stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '')
      if (list.length > 0) return list
    } catch { /* try the next way */ }
  }
  throw new Error(`cannot list busybox applets for ${arch}`)
}

async function exists (p: string): Promise<boolean> {
  return await stat(p).then(() => true, () => false)
}
