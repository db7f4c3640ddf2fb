// tsbuild build where it must be careful: secrets leave no trace, symlinks in
// an image or a context never reach the host, and a failing RUN says where.
import { createHash, randomBytes } from 'node:crypto'
import { execFile } from 'node:child_process'
import { lstat, mkdir, readFile, readdir, readlink } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { gunzipSync } from 'node:zlib'
import { beforeAll, describe, expect, inject, test } from 'vitest'
import { buildOk, ensureBuilt, freshDir, runTsbuild, writeContext } from '../helpers/tsbuild.js'

const run = promisify(execFile)

let busybox: string
beforeAll(async () => {
  busybox = inject('busybox')
  await ensureBuilt()
})

/** Every regular file under `dir` (gzip members decompressed) that contains `needle`. */
async function filesContaining (dir: string, needle: string): Promise<string[]> {
  const hits: string[] = []
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) await walk(p)
      else if (e.isFile()) {
        let data = await readFile(p)
        if (data[0] === 0x1f && data[1] === 0x8b) data = gunzipSync(data)
        if (data.includes(needle)) hits.push(p)
      }
    }
  }
  await walk(dir)
  return hits
}

describe('secrets', () => {
  test('a --secret file is readable in RUN and absent from every layer, the state dir and the logs', async () => {
    const secret = `s3cret-${randomBytes(8).toString('hex')}`
    const work = await freshDir('tsb-secret-')
    const root = await freshDir('tsb-root-')
    await writeContext(work, { 'secret.txt': secret })
    const ctx = await writeContext(join(work, 'ctx'), {
      Dockerfile: [
        `FROM ${busybox}`,
        'RUN --mount=type=secret,id=s cat /run/secrets/s | md5sum | cut -d" " -f1 > /secret.md5 && ls -la /run/secrets',
        'RUN --mount=type=secret,id=s,env=TOKEN sh -c \'test -n "$TOKEN" && echo token-len=${#TOKEN}\'',
      ].join('\n'),
    })
    const out = join(work, 'out')
    const r = await buildOk(['build', '--progress=plain', '--secret', `id=s,src=${join(work, 'secret.txt')}`,
      '-t', 'secretive', '-o', `type=oci,dest=${join(out, 'image.tar')}`, '-o', `type=local,dest=${join(out, 'fs')}`, ctx], { root })
    expect(r.stderr).toContain(`token-len=${secret.length}`)
    expect(await readFile(join(out, 'fs/secret.md5'), 'utf8')).toBe(createHash('md5').update(secret).digest('hex') + '\n')
    await expect(lstat(join(out, 'fs/run/secrets/s'))).rejects.toThrow(/ENOENT/)

    const layers = join(out, 'layers')
    await mkdir(layers)
    await run('tar', ['-xf', join(out, 'image.tar'), '-C', layers])
    expect(await filesContaining(layers, secret)).toEqual([])
    expect(await filesContaining(join(out, 'fs'), secret)).toEqual([])
    expect(await filesContaining(root, secret)).toEqual([])
    expect(r.stderr + r.stdout).not.toContain(secret)
  })
})

describe('secrets that are not given', () => {
  test('an optional secret is simply absent; a required one fails naming it', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: `FROM ${busybox}\nRUN --mount=type=secret,id=opt test ! -e /run/secrets/opt && echo optional-absent\nRUN --mount=type=secret,id=needed,required=true echo never\n`,
    })
    const r = await runTsbuild(['build', '--progress=plain', ctx], { root: await freshDir('tsb-root-') })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^#\d+ [\d.]+ optional-absent$/m)
    expect(r.stderr).toMatch(/secret.*needed|needed.*secret/)
    expect(r.stderr).not.toMatch(/^#\d+ [\d.]+ never$/m)
  })
})

describe('symlinks never escape to the host', () => {
  const hostPasswd = async (): Promise<string> => await readFile('/etc/passwd', 'utf8')

  test('COPY to /evil/etc/passwd where the image has /evil -> / writes inside the image', async () => {
    const before = await hostPasswd()
    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: `FROM ${busybox}\nRUN ln -s / /evil\nCOPY x /evil/etc/passwd\nRUN cat /etc/passwd\n`,
      x: 'written-into-the-image\n',
    })
    const dest = join(await freshDir('tsb-out-'), 'fs')
    await buildOk(['build', '-o', `type=local,dest=${dest}`, ctx], { root: await freshDir('tsb-root-') })
    expect(await hostPasswd()).toBe(before)
    expect(await readFile(join(dest, 'etc/passwd'), 'utf8')).toBe('written-into-the-image\n')
    expect(await readlink(join(dest, 'evil'))).toBe('/')
  })

  test('COPY into a link whose target\'s parents are missing makes them inside the image', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: `FROM ${busybox}\nRUN ln -s /no/such/dir /evil\nCOPY x /evil/\n`,
      x: 'landed\n',
    })
    const dest = join(await freshDir('tsb-out-'), 'fs')
    await buildOk(['build', '-o', `type=local,dest=${dest}`, ctx], { root: await freshDir('tsb-root-') })
    expect(await readFile(join(dest, 'no/such/dir/x'), 'utf8')).toBe('landed\n')
    expect(await readlink(join(dest, 'evil'))).toBe('/no/such/dir')
    await expect(lstat('/no/such/dir')).rejects.toThrow(/ENOENT/)
  })

  test('COPY --from a stage whose source is an absolute symlink reads the stage, and WORKDIR through a link stays inside', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: [
        `FROM ${busybox} AS stage`,
        'RUN echo stage-secret > /etc/stage-only && ln -s /etc/stage-only /link',
        `FROM ${busybox}`,
        'COPY --from=stage /link /copied',
        'RUN ln -s / /w',
        'WORKDIR /w/tmp/wd',
        'COPY f .',
      ].join('\n'),
      f: 'in workdir\n',
    })
    const dest = join(await freshDir('tsb-out-'), 'fs')
    await buildOk(['build', '-o', `type=local,dest=${dest}`, ctx], { root: await freshDir('tsb-root-') })
    expect(await readFile(join(dest, 'copied'), 'utf8')).toBe('stage-secret\n')
    expect(await readFile(join(dest, 'tmp/wd/f'), 'utf8')).toBe('in workdir\n')
    await expect(lstat('/tmp/wd/f')).rejects.toThrow(/ENOENT/)
  })

  test('COPY link/passwd where the context has link -> /etc reads the context, not the host', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: 'FROM scratch\nCOPY link/passwd /\n',
      link: { symlink: '/etc' },
      'etc/passwd': 'context-passwd\n',
    })
    const dest = join(await freshDir('tsb-out-'), 'fs')
    await buildOk(['build', '-o', `type=local,dest=${dest}`, ctx], { root: await freshDir('tsb-root-') })
    expect(await readFile(join(dest, 'passwd'), 'utf8')).toBe('context-passwd\n')
  })

  test('COPY link/passwd with no such file inside the context fails and copies nothing from the host', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: 'FROM scratch\nCOPY link/passwd /\n',
      link: { symlink: '/etc' },
    })
    const dest = join(await freshDir('tsb-out-'), 'fs')
    const r = await runTsbuild(['build', '-o', `type=local,dest=${dest}`, ctx], { root: await freshDir('tsb-root-') })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/link\/passwd/)
    await expect(lstat(join(dest, 'passwd'))).rejects.toThrow(/ENOENT/)
  })
})

describe('archives and whole-context copies never escape either', () => {
  test('ADD of a tar whose symlinks point at a host directory extracts inside the image', async () => {
    const hostDir = await freshDir('tsb-host-target-')
    // The tar holds two links to hostDir (absolute, and relative with too many ..), then a file under each.
    const links = await writeContext(await freshDir('tsb-tar-'), { escape: { symlink: hostDir }, up: { symlink: '../../../../../../..' + hostDir } })
    const payload = await writeContext(await freshDir('tsb-tar-'), { 'escape/pwned': 'via absolute link\n', 'up/pwned2': 'via relative link\n' })
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nADD evil.tar /x/\n` })
    await run('tar', ['-cf', join(ctx, 'evil.tar'), '-C', links, 'escape', 'up'])
    await run('tar', ['-rf', join(ctx, 'evil.tar'), '-C', payload, 'escape/pwned', 'up/pwned2'])
    const dest = join(await freshDir('tsb-out-'), 'fs')
    await buildOk(['build', '-o', `type=local,dest=${dest}`, ctx], { root: await freshDir('tsb-root-') })
    expect(await readdir(hostDir)).toEqual([])
    // As Docker extracts: the destination is the archive's root, so both links resolve under /x.
    expect(await readFile(join(dest, 'x', hostDir, 'pwned'), 'utf8')).toBe('via absolute link\n')
    expect(await readFile(join(dest, 'x', hostDir, 'pwned2'), 'utf8')).toBe('via relative link\n')
  })

  test('COPY . keeps a context symlink to /etc as a link and copies nothing of the host', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: 'FROM scratch\nCOPY . /ctx/\n', link: { symlink: '/etc' } })
    const dest = join(await freshDir('tsb-out-'), 'fs')
    await buildOk(['build', '-o', `type=local,dest=${dest}`, ctx], { root: await freshDir('tsb-root-') })
    expect(await readlink(join(dest, 'ctx/link'))).toBe('/etc')
    expect((await readdir(dest)).sort()).toEqual(['ctx'])
  })
})

describe('a failing RUN', () => {
  test('exits non-zero and shows the Dockerfile line, the exit code and the last output', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: `FROM ${busybox}\nRUN echo fine\nRUN echo first-line && \\\n  echo last-line && exit 3\nRUN echo never\n`,
    })
    const r = await runTsbuild(['build', '--progress=plain', ctx], { root: await freshDir('tsb-root-') })
    expect(r.code).toBe(1)
    const marked = r.stderr.split('\n').filter((l) => l.includes('>>>')).map((l) => l.replace(/\s+/g, ' ').trim())
    expect(marked).toHaveLength(2)
    expect(marked[0]).toMatch(/\b3 \|.*RUN echo first-line && \\$/)
    expect(marked[1]).toMatch(/\b4 \|.*echo last-line && exit 3$/)
    expect(r.stderr).toMatch(/exit code:? 3/)
    const report = r.stderr.slice(r.stderr.lastIndexOf('ERROR'))
    expect(report).toContain('last-line')
    expect(r.stderr).toMatch(/^#\d+ [\d.]+ last-line$/m)
    expect(r.stderr).not.toMatch(/^#\d+ [\d.]+ never$/m) // the step after the failure never ran
  })

  test('a RUN whose program does not exist says so, not just "exit code: 1"', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: 'FROM scratch\nRUN echo hi\n' })
    const r = await runTsbuild(['build', '--progress=plain', ctx], { root: await freshDir('tsb-root-') })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('ERROR: [1/1] RUN echo hi: process "/bin/sh -c echo hi" did not complete successfully: unable to start container process: exec: "/bin/sh"')
    expect(r.stderr).toContain('hint: the image has no /bin/sh')
  })

  test('a COPY whose source is missing names the step and its Dockerfile line, like a failed RUN', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: `FROM ${busybox}\nCOPY nothere.txt /x\n`, 'here.txt': 'x' })
    const r = await runTsbuild(['build', '--progress=plain', ctx], { root: await freshDir('tsb-root-') })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^#\d+ \[2\/2\] COPY nothere.txt \/x$/m)
    expect(r.stderr).toMatch(/^\s*2 \| >>> COPY nothere.txt \/x$/m)
    expect(r.stderr).toContain('ERROR: [2/2] COPY nothere.txt /x: /nothere.txt: not found in build context')
  })
})

describe('entitlements', () => {
  test('RUN --security=insecure and RUN --network=host need --allow, refused before anything runs with the Dockerfile line', async () => {
    const root = await freshDir('tsb-root-')
    const work = await freshDir('tsb-allow-')
    const insecure = await writeContext(join(work, 'insecure'), {
      Dockerfile: [`FROM ${busybox}`, 'RUN echo first > /first', 'RUN --security=insecure touch /x'].join('\n'),
    })
    const refused = await runTsbuild(['build', '--progress=plain', insecure], { root })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('Dockerfile:3: RUN --security=insecure needs the security.insecure entitlement')
    expect(refused.stderr).toContain('add --allow security.insecure')
    expect(refused.stderr).not.toMatch(/^#\d+ /m) // refused before any step started
    await buildOk(['build', '--progress=plain', '--allow', 'security.insecure', insecure], { root })

    const hostNet = await writeContext(join(work, 'hostnet'), { Dockerfile: [`FROM ${busybox}`, 'RUN --network=host true'].join('\n') })
    const noNet = await runTsbuild(['build', '--progress=plain', hostNet], { root })
    expect(noNet.code).toBe(1)
    expect(noNet.stderr).toContain('Dockerfile:2: RUN --network=host needs the network.host entitlement')
    await buildOk(['build', '--progress=plain', '--allow', 'network.host', hostNet], { root })
    // A build-wide --network=host grants network.host, as buildx does.
    await buildOk(['build', '--progress=plain', '--network=host', hostNet], { root })
  })
})
