// What scripts read from tsbuild build, through the real CLI: the --metadata-file
// of every image output (judged against skopeo's view of the archive), rawjson
// stderr that is nothing but schema-valid events, and --call=outline|targets
// as BuildKit prints them, also as JSON.
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { beforeAll, describe, expect, inject, test } from 'vitest'
import { buildOk, ensureBuilt, freshDir, REPO, runTsbuild, writeContext } from '../helpers/tsbuild.js'

const run = promisify(execFile)
const skopeo = async (...args: string[]): Promise<string> => (await run('skopeo', args, { maxBuffer: 16 << 20, encoding: 'utf8' })).stdout
const sha256 = (text: string): string => `sha256:${createHash('sha256').update(text).digest('hex')}`
const validate = new Ajv2020({ strict: true, allErrors: true }).compile(JSON.parse(readFileSync(join(REPO, 'docs/progress.schema.json'), 'utf8')) as object)

interface Metadata {
  'containerimage.digest'?: string
  'containerimage.config.digest'?: string
  'containerimage.descriptor'?: { mediaType: string; digest: string }
  manifests: Array<{ platform: string; digest: string; config: string }>
}
interface Index { manifests: Array<{ digest: string; platform?: { os: string; architecture: string } }> }

let busybox: string
beforeAll(async () => {
  busybox = inject('busybox')
  await ensureBuilt()
})

/** A fresh state dir, a context holding `dockerfile` (and a file to copy), and a dir for outputs. */
async function project (dockerfile: string): Promise<{ root: string; ctx: string; out: string }> {
  return {
    root: await freshDir('tsb-root-'),
    ctx: await writeContext(await freshDir('tsb-ctx-'), { Dockerfile: dockerfile, 'hello.txt': 'hello\n' }),
    out: await freshDir('tsb-out-'),
  }
}

describe('--metadata-file for outputs other than the image store', () => {
  test('-o type=oci with two platforms: each platform manifest and the index, as the archive holds them', async () => {
    const { root, ctx, out } = await project(`FROM ${busybox}\nCOPY hello.txt /hello.txt\n`)
    const tar = join(out, 'o.tar')
    await buildOk(['build', '--progress=plain', '--platform', 'linux/arm64,linux/amd64', '-o', `type=oci,dest=${tar}`, '--metadata-file', join(out, 'm.json'), ctx], { root })
    const meta = JSON.parse(await readFile(join(out, 'm.json'), 'utf8')) as Metadata
    const raw = await skopeo('inspect', '--raw', `oci-archive:${tar}`)
    const index = JSON.parse(raw) as Index
    expect(meta['containerimage.digest']).toBe(sha256(raw))
    expect(meta['containerimage.descriptor']?.mediaType).toBe('application/vnd.oci.image.index.v1+json')
    expect(meta['containerimage.config.digest']).toBeUndefined() // several configs: none is named, as in BuildKit
    expect(meta.manifests.map((m) => [m.platform, m.digest]).sort()).toEqual(
      index.manifests.map((m) => [`${m.platform!.os}/${m.platform!.architecture}`, m.digest]).sort())
    for (const m of meta.manifests) {
      const config = await skopeo('inspect', '--config', '--raw', '--override-arch', m.platform.split('/')[1]!, `oci-archive:${tar}`)
      expect(m.config).toBe(sha256(config))
    }
  })

  test.each([
    ['oci', 'oci-archive'],
    ['docker', 'docker-archive'],
  ])('-o type=%s with one platform: the config digest and the manifest', async (type, transport) => {
    const { root, ctx, out } = await project(`FROM ${busybox}\nCOPY hello.txt /hello.txt\n`)
    const tar = join(out, 'o.tar')
    await buildOk(['build', '--progress=plain', '--platform', 'linux/amd64', '-o', `type=${type},dest=${tar}`, '--metadata-file', join(out, 'm.json'), ctx], { root })
    const meta = JSON.parse(await readFile(join(out, 'm.json'), 'utf8')) as Metadata
    const config = sha256(await skopeo('inspect', '--config', '--raw', `${transport}:${tar}`))
    expect(meta['containerimage.config.digest']).toBe(config)
    expect(meta.manifests).toEqual([{ platform: 'linux/amd64', digest: meta['containerimage.digest'], config }])
    if (type === 'oci') expect(meta['containerimage.digest']).toBe(sha256(await skopeo('inspect', '--raw', `${transport}:${tar}`)))
  })
})

describe('--progress=rawjson: stderr holds only events', () => {
  /** Every line of stderr, each checked against docs/progress.schema.json. */
  function events (stderr: string): Array<Record<string, unknown>> {
    return stderr.split('\n').filter((l) => l !== '').map((l) => {
      const e = JSON.parse(l) as Record<string, unknown>
      expect(validate(e), `${l}\n${JSON.stringify(validate.errors)}`).toBe(true)
      return e
    })
  }

  test('a tagged build with check warnings: names and digest as progress items, no text summary', async () => {
    const { root, ctx, out } = await project(`FROM ${busybox} as base\nCOPY hello.txt /hello.txt\n`)
    const r = await buildOk(['build', '--progress=rawjson', '-t', 'app', '--metadata-file', join(out, 'm.json'), ctx], { root })
    expect(r.stdout).toBe('')
    const all = events(r.stderr)
    const meta = JSON.parse(await readFile(join(out, 'm.json'), 'utf8')) as Metadata
    const finished = all.filter((e) => e.type === 'progress' && e.done === true).map((e) => e.name)
    expect(finished).toContain(`manifest ${meta['containerimage.digest']}`)
    expect(finished.some((n) => /^naming to \S*app/.test(String(n)))).toBe(true)
    expect(all.filter((e) => e.type === 'warning' && e.rule === 'FromAsCasing')).toHaveLength(1)
  })

  test('no output: the warning is an event', async () => {
    const { root, ctx } = await project(`FROM ${busybox}\nCOPY hello.txt /hello.txt\n`)
    const r = await buildOk(['build', '--progress=rawjson', ctx], { root })
    expect(events(r.stderr).filter((e) => e.type === 'warning').map((e) => e.message)).toEqual([expect.stringMatching(/^No output specified/)])
  })

  test('a failed build: events, the failed step among them, then one ERROR line', async () => {
    const { root, ctx } = await project(`FROM ${busybox}\nCOPY missing.txt /m\n`)
    const r = await runTsbuild(['build', '--progress=rawjson', '-t', 'app', ctx], { root })
    expect(r.code).toBe(1)
    const lines = r.stderr.trimEnd().split('\n')
    expect(lines.at(-1)).toMatch(/^ERROR: .*missing\.txt/)
    const all = events(lines.slice(0, -1).join('\n'))
    expect(all.filter((e) => e.type === 'vertex' && e.status === 'error').map((e) => e.name)).toEqual([expect.stringContaining('COPY missing.txt /m')])
  })
})

describe('--call=outline and --call=targets', () => {
  // The base is the loopback registry's busybox: outline resolves base images as a build does.
  const dockerfile = (): string => [
    '# build compiles the app',
    `FROM ${busybox} AS build`,
    'ARG TOKEN',
    '# MODE how to build',
    'ARG MODE=release',
    'RUN --mount=type=secret,id=npmrc,required --mount=type=secret,id=cfg --mount=type=ssh make',
    'FROM build AS release',
    '',
  ].join('\n')

  test('text as BuildKit prints it', async () => {
    const { root, ctx } = await project(dockerfile())
    const r = await runTsbuild(['build', '--call=outline', '--target', 'build', ctx], { root })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe([
      'TARGET:      build',
      'DESCRIPTION: compiles the app',
      '',
      'BUILD ARG   VALUE     DESCRIPTION',
      'TOKEN                 ',
      'MODE        release   how to build',
      '',
      'SECRET   REQUIRED',
      'cfg      ',
      'npmrc    true',
      '',
      'SSH       REQUIRED',
      'default   ',
      '',
      '',
    ].join('\n'))
    const t = await runTsbuild(['build', '--call=targets', ctx], { root })
    expect(t.stdout).toBe('TARGET            DESCRIPTION\nbuild             compiles the app\nrelease (default) \n')
  })

  test.each([
    ['--call=outline,format=json'],
    ['--call=targets,format=json'],
  ])('%s prints BuildKit\'s JSON', async (flag) => {
    const { root, ctx } = await project(dockerfile())
    const r = await runTsbuild(['build', flag, '--target', 'build', ctx], { root })
    expect(r.code, r.stderr).toBe(0)
    const json = JSON.parse(r.stdout) as Record<string, unknown>
    expect(json.sources).toEqual([Buffer.from(dockerfile()).toString('base64')])
    if (flag.includes('outline')) {
      expect(json).toMatchObject({
        name: 'build',
        description: 'compiles the app',
        args: [{ name: 'TOKEN', location: { ranges: [{ start: { line: 3 }, end: { line: 3 } }] } }, { name: 'MODE', value: 'release', description: 'how to build' }],
        secrets: [{ name: 'cfg' }, { name: 'npmrc', required: true }],
        ssh: [{ name: 'default' }],
      })
    } else {
      expect(json.targets).toEqual([
        { name: 'build', description: 'compiles the app', base: busybox, location: { ranges: [{ start: { line: 2 }, end: { line: 2 } }] } },
        { name: 'release', default: true, base: 'build', location: { ranges: [{ start: { line: 7 }, end: { line: 7 } }] } },
      ])
    }
  })

  test('an unknown format is a usage error', async () => {
    const { root, ctx } = await project(dockerfile())
    const r = await runTsbuild(['build', '--call=outline,format=yaml', ctx], { root })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^ERROR: --call: invalid format "yaml"/m)
  })
})
