// The outline and targets printers against BuildKit's (frontend/subrequests/outline and
// targets): text laid out as Go's tabwriter does, JSON with BuildKit's field names.
import { describe, expect, test } from 'vitest'
import { convertDockerfile } from './convert.js'
import { formatOutline, formatTargets } from './outline.js'
import { request } from './testing.js'
import type { Outline, OutlineTarget } from './types.js'

const line = (n: number) => ({ start: { line: n, character: 0 }, end: { line: n, character: 0 } })
const target = (t: Partial<OutlineTarget>, n: number): OutlineTarget => ({ isDefault: false, base: 'alpine', range: line(n), ...t })
const outline = (o: Partial<Outline>): Outline => ({ args: [], secrets: [], ssh: [], targets: [], ...o })

describe('formatOutline (text)', () => {
  test('an arg without a value prints an empty VALUE; padded cells keep their trailing spaces', () => {
    const text = formatOutline(outline({ args: [{ name: 'TOKEN' }, { name: 'VERSION', value: '1.0', description: 'what to build' }] }))
    expect(text).toBe([
      'BUILD ARG   VALUE   DESCRIPTION',
      'TOKEN               ',
      'VERSION     1.0     what to build',
      '',
      '',
    ].join('\n'))
    expect(text).not.toContain('<nil>')
  })

  test('secrets and ssh: NAME and REQUIRED only, REQUIRED blank unless true', () => {
    const text = formatOutline(outline({ secrets: [{ name: 'npmrc', isRequired: true }, { name: 'tok', isRequired: false }], ssh: [{ name: 'default', isRequired: false }] }))
    expect(text).toBe([
      'SECRET   REQUIRED',
      'npmrc    true',
      'tok      ',
      '',
      'SSH       REQUIRED',
      'default   ',
      '',
      '',
    ].join('\n'))
    expect(text).not.toMatch(/false|DESCRIPTION/)
  })

  test.each([
    [{ name: 'app' }, 'TARGET: app\n\n'],
    [{ name: 'app', description: 'the app' }, 'TARGET:      app\nDESCRIPTION: the app\n\n'],
    [{ description: 'unnamed last stage' }, 'TARGET:      (default)\nDESCRIPTION: unnamed last stage\n\n'],
    [{}, ''],
  ])('target header %j (tabwriter padding 1)', (head, want) => {
    expect(formatOutline(outline(head))).toBe(want)
  })
})

describe('formatTargets (text)', () => {
  test('one space of padding; the default stage is marked; an unnamed stage that is not the default is left out', () => {
    const text = formatTargets(outline({ targets: [target({ name: 'build', description: 'compiles' }, 1), target({}, 3), target({ name: 'release', isDefault: true }, 5)] }))
    expect(text).toBe('TARGET            DESCRIPTION\nbuild             compiles\nrelease (default) \n')
  })
})

describe('format=json: BuildKit subrequest structs', () => {
  const text = [
    '# VERSION the release to build',
    'ARG VERSION=1.0',
    '# build compiles the app',
    'FROM golang:$VERSION AS build',
    'ARG TOKEN',
    'RUN --mount=type=secret,id=netrc,required --mount=type=secret,id=cfg --mount=type=ssh go build',
    '# release: the final <image> & more',
    'FROM alpine AS release',
    'COPY --from=build /out /app',
    '',
  ].join('\n')

  test('outline: name, description, args (value and description omitted when empty), secrets, ssh, sources', async () => {
    const { outline: o } = await convertDockerfile(request(text))
    const out = formatOutline(o, { format: 'json', source: text })
    expect(out.endsWith('}\n')).toBe(true)
    expect(out).toContain('\\u003cimage\\u003e \\u0026 more') // Go's json escapes <, > and &
    expect(out.split('\n')[1]).toBe('  "name": "release",') // MarshalIndent's two spaces
    expect(JSON.parse(out)).toEqual({
      name: 'release',
      description: 'the final <image> & more',
      args: [
        { name: 'VERSION', description: 'the release to build', value: '1.0', location: { ranges: [{ start: { line: 2 }, end: { line: 2 } }] } },
        { name: 'TOKEN', location: { ranges: [{ start: { line: 5 }, end: { line: 5 } }] } },
      ],
      secrets: [{ name: 'cfg' }, { name: 'netrc', required: true }],
      ssh: [{ name: 'default' }],
      sources: [Buffer.from(text).toString('base64')],
    })
    expect(Object.keys(JSON.parse(out))).toEqual(['name', 'description', 'args', 'secrets', 'ssh', 'sources'])
  })

  test('targets: every stage with name, default, description, base, location; sources', async () => {
    const { outline: o } = await convertDockerfile(request(text))
    expect(JSON.parse(formatTargets(o, { format: 'json', source: text }))).toEqual({
      targets: [
        { name: 'build', description: 'compiles the app', base: 'golang:$VERSION', location: { ranges: [{ start: { line: 4 }, end: { line: 4 } }] } },
        { name: 'release', default: true, description: 'the final <image> & more', base: 'alpine', location: { ranges: [{ start: { line: 8 }, end: { line: 8 } }] } },
      ],
      sources: [Buffer.from(text).toString('base64')],
    })
  })

  test('an outline with nothing to list is an empty object', () => {
    expect(formatOutline(outline({}), { format: 'json' })).toBe('{}\n')
  })
})
