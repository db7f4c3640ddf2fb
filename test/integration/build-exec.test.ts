// What a RUN leaves in its layer and sees while it runs: only its own changes
// are committed (no /etc/hosts, resolv.conf, hostname or mount stubs), and
// USER, WORKDIR and ENV apply as in docker build; bind mounts and --network=none behave as in BuildKit.
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, inject, test } from 'vitest'
import { buildOk, ensureBuilt, freshDir, writeContext } from '../helpers/tsbuild.js'

const run = promisify(execFile)

let busybox: string
beforeAll(async () => {
  busybox = inject('busybox')
  await ensureBuilt()
})

/** The entries of each layer of a single-platform `-o type=oci` archive, bottom first. */
async function layerEntries (archive: string): Promise<string[][]> {
  const dir = await freshDir('tsb-unpacked-')
  await run('tar', ['-xf', archive, '-C', dir])
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> }
  const blob = (d: string): string => join(dir, 'blobs/sha256', d.slice('sha256:'.length))
  const manifest = JSON.parse(await readFile(blob(index.manifests[0]!.digest), 'utf8')) as { layers: Array<{ digest: string }> }
  const out: string[][] = []
  for (const l of manifest.layers) {
    const { stdout } = await run('tar', ['-tzf', blob(l.digest)], { maxBuffer: 16 << 20 })
    out.push(stdout.split('\n').filter((e) => e !== '').map((e) => e.replace(/^\.\//, '').replace(/\/$/, '')).filter((e) => e !== '.' && e !== '').sort())
  }
  return out
}

describe('RUN layers', () => {
  test('a RUN commits only what it changed: no hosts, resolv.conf, hostname or mount stubs', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: `FROM ${busybox}\nRUN echo hi > /hi && cat /etc/hosts /etc/resolv.conf /etc/hostname > /dev/null\nRUN --mount=type=tmpfs,target=/scratch/tmp --mount=type=cache,target=/var/cache/x echo two > /two\n`,
    })
    const out = await freshDir('tsb-out-')
    await buildOk(['build', '-o', `type=oci,dest=${join(out, 'image.tar')}`, ctx], { root: await freshDir('tsb-root-') })
    const layers = await layerEntries(join(out, 'image.tar'))
    expect(layers).toHaveLength(3)
    expect(layers[1]).toEqual(['hi'])
    expect(layers[2]).toEqual(['two'])
  })
})

describe('RUN environment', () => {
  test('USER, WORKDIR and ENV apply to RUN, and files it creates belong to the user', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: [
        `FROM ${busybox}`,
        'ENV GREETING=hello',
        'USER builder',
        // Created for the current USER, as BuildKit does, so builder can write there.
        'WORKDIR /home/builder/work',
        'RUN echo "$(id -u):$(id -g) $(pwd) $GREETING" > out.txt && touch mine',
        'USER root',
        'RUN stat -c "%u:%g" /home/builder/work/mine > /owner',
      ].join('\n'),
    })
    const dest = join(await freshDir('tsb-out-'), 'fs')
    await buildOk(['build', '-o', `type=local,dest=${dest}`, ctx], { root: await freshDir('tsb-root-') })
    expect(await readFile(join(dest, 'home/builder/work/out.txt'), 'utf8')).toBe('1000:1000 /home/builder/work hello\n')
    expect(await readFile(join(dest, 'owner'), 'utf8')).toBe('1000:1000\n')
  })
})

describe('RUN mounts and network', () => {
  test('a bind mount from a stage is read-only by default; rw changes to a context bind are discarded', async () => {
    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: [
        `FROM ${busybox} AS tools`,
        'RUN echo tool > /tool.txt',
        `FROM ${busybox}`,
        'RUN --mount=type=bind,from=tools,target=/t cat /t/tool.txt > /from-tools && ! touch /t/new 2>/dev/null',
        'RUN --mount=type=bind,target=/ctx,rw echo changed > /ctx/f.txt && cat /ctx/f.txt > /seen',
        'RUN --mount=type=bind,target=/ctx cat /ctx/f.txt > /after',
      ].join('\n'),
      'f.txt': 'original\n',
    })
    const dest = join(await freshDir('tsb-out-'), 'fs')
    await buildOk(['build', '-o', `type=local,dest=${dest}`, ctx], { root: await freshDir('tsb-root-') })
    expect(await readFile(join(dest, 'from-tools'), 'utf8')).toBe('tool\n')
    expect(await readFile(join(dest, 'seen'), 'utf8')).toBe('changed\n')
    expect(await readFile(join(dest, 'after'), 'utf8')).toBe('original\n')
    expect(await readFile(join(ctx, 'f.txt'), 'utf8')).toBe('original\n')
  })

  test('RUN --network=none cannot reach a loopback server the default network can', async () => {
    const server = createServer((_req, res) => res.end('reachable\n'))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`
      const ctx = await writeContext(await freshDir('tsb-ctx-'), {
        Dockerfile: [
          `FROM ${busybox}`,
          `RUN wget -q -O /default ${url}`,
          `RUN --network=none sh -c 'if wget -q -T 2 -O /none ${url}; then echo reached > /none; else echo blocked > /none; fi'`,
        ].join('\n'),
      })
      const dest = join(await freshDir('tsb-out-'), 'fs')
      await buildOk(['build', '-o', `type=local,dest=${dest}`, ctx], { root: await freshDir('tsb-root-') })
      expect(await readFile(join(dest, 'default'), 'utf8')).toBe('reachable\n')
      expect(await readFile(join(dest, 'none'), 'utf8')).toBe('blocked\n')
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
