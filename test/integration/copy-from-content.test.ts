// COPY --from keyed by what it copies, as in BuildKit: when a stage is
// rebuilt but yields the same files, the steps after the COPY stay cached;
// any difference in content, mode or owner runs them again.
import { beforeAll, describe, expect, inject, test } from 'vitest'
import { buildOk, cachedSteps, ensureBuilt, freshDir, logText, parseEvents, ranSteps, writeContext } from '../helpers/tsbuild.js'

let busybox: string
beforeAll(async () => {
  busybox = inject('busybox')
  await ensureBuilt()
})

describe('COPY --from: steps after it are keyed by the files it copied', () => {
  test('a rebuilt stage with the same output keeps the later steps cached; other content, mode or owner re-runs them', async () => {
    const root = await freshDir('tsb-root-')
    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: [
        `FROM ${busybox} AS build`,
        'ARG REV=1',
        'ARG CONTENT=same',
        'ARG MODE=644',
        'ARG OWNER=0',
        'RUN echo "building rev $REV" && mkdir /out && echo "artifact $CONTENT" > /out/app && chmod $MODE /out/app && chown $OWNER /out/app',
        `FROM ${busybox}`,
        'COPY --from=build /out/app /app',
        'RUN echo MARKER-final && ls -ln /app',
      ].join('\n'),
    })
    const build = async (...args: string[]) => {
      const events = parseEvents((await buildOk(['build', '--progress=rawjson', '-t', 'app', ...args.flatMap((a) => ['--build-arg', a]), ctx], { root })).stderr)
      const inspected = JSON.parse((await buildOk(['inspect', 'app'], { root })).stdout) as { images: Array<{ descriptor: { digest: string } }> }
      return { events, digest: inspected.images[0]!.descriptor.digest }
    }
    const finalRan = (events: ReturnType<typeof parseEvents>) => logText(events).includes('MARKER-final')

    const first = await build()
    expect(finalRan(first.events)).toBe(true)

    const rebuilt = await build('REV=2')
    expect(logText(rebuilt.events)).toContain('building rev 2')
    expect(ranSteps(rebuilt.events).some((n) => n.includes('COPY --from=build'))).toBe(true)
    expect(finalRan(rebuilt.events)).toBe(false)
    expect(cachedSteps(rebuilt.events).some((n) => n.includes('MARKER-final'))).toBe(true)
    // The result is the first build's: same layers, same times, same image.
    expect(rebuilt.digest).toBe(first.digest)

    for (const changed of ['CONTENT=other', 'MODE=755', 'OWNER=65534']) {
      const r = await build('REV=3', changed)
      expect(finalRan(r.events), changed).toBe(true)
      expect(r.digest, changed).not.toBe(first.digest)
      // Without --chown a copy from a stage keeps its owner, as in Docker and BuildKit.
      if (changed === 'OWNER=65534') expect(logText(r.events)).toMatch(/-rw-r--r-- +1 65534 +0 .*\/app/)
    }

    // What a content match found is kept under the step's own key: the same build again is a plain cache hit.
    const again = await build('REV=2')
    expect(ranSteps(again.events).filter((n) => !n.startsWith('[internal]'))).toEqual([])
  })

  test('hard links count: two copies and one file under two names are different content', async () => {
    const root = await freshDir('tsb-root-')
    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: [
        `FROM ${busybox} AS a`, 'ARG HL=0',
        'RUN mkdir /d && echo x > /d/a && if [ "$HL" = 1 ]; then ln /d/a /d/b; else cp /d/a /d/b; fi',
        `FROM ${busybox}`, 'COPY --from=a /d /d', 'RUN echo "links $(stat -c %h /d/a)"',
      ].join('\n'),
    })
    const links = async (hl: string) => logText(parseEvents((await buildOk(['build', '--progress=rawjson', '--build-arg', `HL=${hl}`, ctx], { root })).stderr))
    expect(await links('0')).toContain('links 1')
    expect(await links('1')).toContain('links 2')
  })

  test('keys by content pass through the steps between the copy and the step that hits (WORKDIR, a context COPY)', async () => {
    const root = await freshDir('tsb-root-')
    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: [
        `FROM ${busybox} AS a`, 'ARG V=0', 'RUN echo same > /f && echo "$V" > /g',
        `FROM ${busybox}`, 'COPY --from=a /f /f', 'WORKDIR /app', 'COPY c.txt /app/c.txt', 'RUN echo MARKER-final && cat /f c.txt',
      ].join('\n'),
      'c.txt': 'c\n',
    })
    const build = async (v: string) => parseEvents((await buildOk(['build', '--progress=rawjson', '--build-arg', `V=${v}`, ctx], { root })).stderr)
    expect(logText(await build('20'))).toContain('MARKER-final')
    const again = await build('21')
    expect(logText(again)).not.toContain('MARKER-final')
    expect(cachedSteps(again).some((n) => n.includes('WORKDIR /app'))).toBe(true)
  })

  test('--no-cache-filter on the final stage still runs its steps', async () => {
    const root = await freshDir('tsb-root-')
    const ctx = await writeContext(await freshDir('tsb-ctx-'), {
      Dockerfile: [
        `FROM ${busybox} AS build`, 'ARG REV=1', 'RUN echo "rev $REV" && echo same > /artifact',
        `FROM ${busybox} AS final`, 'COPY --from=build /artifact /artifact', 'RUN echo MARKER-final',
      ].join('\n'),
    })
    await buildOk(['build', '--progress=plain', ctx], { root })
    const r = await buildOk(['build', '--progress=rawjson', '--build-arg', 'REV=2', '--no-cache-filter', 'final', ctx], { root })
    expect(logText(parseEvents(r.stderr))).toContain('MARKER-final')
  })
})
