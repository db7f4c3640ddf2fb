// The seccomp filter on RUN steps, seen from inside real runc sandboxes: a
// default RUN runs under the default profile (denied syscalls fail with EPERM,
// ordinary programs and qemu-emulated arm64 ones keep working) and
// `RUN --security=insecure` runs with no filter at all, as in BuildKit.
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { beforeAll, describe, expect, inject, test } from 'vitest'
import { buildOk, ensureBuilt, freshDir, writeContext } from '../helpers/tsbuild.js'

let busybox: string
beforeAll(async () => {
  busybox = inject('busybox')
  await ensureBuilt()
})

/** Build `dockerfile` and return a reader for files of the resulting filesystem. */
async function buildFs (dockerfile: string, flags: readonly string[] = []): Promise<(path: string) => Promise<string>> {
  const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: dockerfile })
  const dest = join(await freshDir('tsb-out-'), 'fs')
  await buildOk(['build', ...flags, '-o', `type=local,dest=${dest}`, ctx], { root: await freshDir('tsb-root-') })
  return async (path) => await readFile(join(dest, path), 'utf8')
}

describe('RUN under the default seccomp profile', () => {
  test('a default RUN is filtered and may not create a user namespace; an insecure RUN is unfiltered and may', async () => {
    const read = await buildFs([
      `FROM ${busybox}`,
      'RUN mkdir -m 777 /out',
      'RUN grep ^Seccomp: /proc/self/status > /out/default-status; if unshare -U true 2>/out/default-err; then echo allowed; else echo denied; fi > /out/default-unshare',
      'RUN --security=insecure grep ^Seccomp: /proc/self/status > /out/insecure-status',
      // The control: as a user without capabilities, creating a user namespace
      // needs none, so only the filter can tell the two runs below apart.
      'USER builder',
      'RUN if unshare -U true 2>/dev/null; then echo allowed; else echo denied; fi > /out/builder-default',
      'RUN --security=insecure grep ^CapEff: /proc/self/status > /out/builder-caps; if unshare -U true; then echo allowed; else echo denied; fi > /out/builder-insecure',
    ].join('\n'), ['--allow', 'security.insecure'])
    expect(await read('out/default-status')).toBe('Seccomp:\t2\n')
    expect(await read('out/insecure-status')).toBe('Seccomp:\t0\n')
    expect(await read('out/default-unshare')).toBe('denied\n')
    expect(await read('out/default-err')).toMatch(/Operation not permitted/)
    expect(await read('out/builder-caps')).toBe('CapEff:\t0000000000000000\n')
    expect(await read('out/builder-default')).toBe('denied\n')
    expect(await read('out/builder-insecure')).toBe('allowed\n')
  })

  test('ordinary steps keep working: shell, file operations, pipes, chroot, personality, loopback network', async () => {
    const server = createServer((_req, res) => res.end('reachable\n'))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`
      const read = await buildFs([
        `FROM ${busybox}`,
        'WORKDIR /w',
        'RUN mkdir -p a && echo hello > a/f && ln -s a/g soft && ln a/f hard && chmod 600 a/f && chown 1000:1000 a/f && mv a/f a/g' +
          ' && tar -czf t.tgz a && mkdir x && tar -xzf t.tgz -C x && cat x/a/g soft hard > joined && rm t.tgz',
        'RUN mkfifo p && { (echo through-fifo > p) & cat p > fifo; wait; } && sleep 0.1 && echo $(( 6 * 7 )) | tee math > /dev/null',
        // chroot needs CAP_SYS_CHROOT, which a default RUN has; personality(PER_LINUX32) is one of the allowed values.
        'RUN chroot / true && linux32 uname -m > /w/linux32',
        `RUN wget -q -O /w/fetched ${url}`,
      ].join('\n'))
      expect(await read('w/joined')).toBe('hello\nhello\nhello\n')
      expect(await read('w/fifo')).toBe('through-fifo\n')
      expect(await read('w/math')).toBe('42\n')
      expect((await read('w/linux32')).trim()).toMatch(process.arch === 'x64' ? /^i[3-6]86$/ : /^armv/)
      expect(await read('w/fetched')).toBe('reachable\n')
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })

  test('an arm64 RUN under qemu is filtered by the host profile and still runs', async () => {
    const read = await buildFs([
      `FROM ${busybox}`,
      'RUN uname -m > /arch && grep ^Seccomp: /proc/self/status > /status && echo a > /f && cp /f /g && sh -c "cat /g" > /h',
    ].join('\n'), ['--platform', 'linux/arm64'])
    expect(await read('arch')).toBe('aarch64\n')
    expect(await read('status')).toBe('Seccomp:\t2\n')
    expect(await read('h')).toBe('a\n')
  })
})
