import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { describe, expect, test } from 'vitest'
import type { Digest } from '../../common/digest.js'
import { convertWarningEvent, findingEvent } from '../../engine/checks.js'
import { checkDockerfile } from '../../frontend/dockerfile/index.js'
import type { SolveEvent } from '../../solver/events.js'
import { encodeRawJson, resultEvents } from './rawjson.js'

const schema = JSON.parse(readFileSync(join(import.meta.dirname, '../../../docs/progress.schema.json'), 'utf8')) as object
const validate = new Ajv2020({ strict: true, allErrors: true }).compile(schema)
const digest = `sha256:${'a'.repeat(64)}` as Digest
const amd64 = { os: 'linux', architecture: 'amd64' }

function decoded (e: SolveEvent): Record<string, unknown> {
  const out = JSON.parse(encodeRawJson(e)) as Record<string, unknown>
  expect(validate(out), JSON.stringify(validate.errors)).toBe(true)
  return out
}

describe('encodeRawJson', () => {
  test.each<[string, SolveEvent]>([
    ['vertex', { type: 'vertex', digest, name: '[1/2] FROM busybox', status: 'started', time: 1, missReason: 'new step' }],
    ['log', { type: 'log', digest, stream: 1, data: new Uint8Array([0xff, 0x0a]), time: 2 }],
    ['progress', { type: 'progress', id: 'pull', name: 'pulling', current: 1, total: 2, time: 3 }],
    ['warning without a rule', { type: 'warning', message: 'garbage collection failed: EIO', time: 4 }],
  ])('%s events keep their shape', (_kind, e) => {
    const out = decoded(e)
    expect(Object.keys(out).sort()).toEqual(Object.keys(e).sort())
  })

  test('a check finding carries rule, message, detail, url and the Dockerfile location', async () => {
    const { findings } = await checkDockerfile({ dockerfile: 'FROM scratch as base\n', file: 'ci/Dockerfile', buildArgs: new Map(), targetPlatform: amd64, buildPlatform: amd64 })
    expect(decoded(findingEvent(findings[0]!, 5))).toEqual({
      type: 'warning',
      message: "FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 1)",
      time: 5,
      rule: 'FromAsCasing',
      detail: ["The 'AS' keyword should be written in the same case as 'FROM'"],
      url: 'https://docs.docker.com/go/dockerfile/rule/from-as-casing/',
      source: { file: 'ci/Dockerfile', ranges: [{ start: { line: 1, character: 0 }, end: { line: 1, character: 20 } }] },
    })
  })

  test('a frontend warning keeps its rule; a range is written with line and character only', () => {
    const range = Object.assign({ start: { line: 2, character: 0 }, end: { line: 3, character: 4 } }, { internal: true })
    expect(decoded(convertWarningEvent({ message: 'Empty continuation line', rule: 'NoEmptyContinuation', range }, 'Dockerfile', 6))).toEqual({
      type: 'warning', message: 'Empty continuation line', time: 6, rule: 'NoEmptyContinuation',
      source: { file: 'Dockerfile', ranges: [{ start: { line: 2, character: 0 }, end: { line: 3, character: 4 } }] },
    })
    expect(decoded(convertWarningEvent({ message: '[Warning] One or more build-args [X] were not consumed', rule: 'UnusedBuildArgs' }, 'Dockerfile', 7)))
      .toEqual({ type: 'warning', message: '[Warning] One or more build-args [X] were not consumed', time: 7, rule: 'UnusedBuildArgs' })
  })

  test('the schema rejects a warning field it does not know', () => {
    expect(validate({ type: 'warning', message: 'x', time: 1, level: 1 })).toBe(false)
  })
})

describe('resultEvents: what plain prints after a build, as schema events', () => {
  const root = { mediaType: 'application/vnd.oci.image.index.v1+json', digest }

  test('stored and pushed names and the index digest are finished progress items', () => {
    const events = resultEvents({ stored: ['app:latest'], pushed: ['localhost:5000/app:1'], descriptor: root }, 9).map((e) => decoded(e))
    expect(events.map((e) => [e.type, e.name, e.done])).toEqual([
      ['progress', 'naming to app:latest', true],
      ['progress', 'pushed localhost:5000/app:1', true],
      ['progress', `index ${digest}`, true],
    ])
    expect(new Set(events.map((e) => e.id)).size).toBe(3)
  })

  test.each([
    ['application/vnd.oci.image.manifest.v1+json', 'manifest'],
    ['application/vnd.docker.distribution.manifest.list.v2+json', 'index'],
  ])('%s is named %s', (mediaType, word) => {
    expect(resultEvents({ stored: [], pushed: [], descriptor: { mediaType, digest } }, 1).map((e) => decoded(e).name)).toEqual([`${word} ${digest}`])
  })

  test('no output at all is a warning event', () => {
    const [e, ...rest] = resultEvents(undefined, 3)
    expect(rest).toEqual([])
    expect(decoded(e!)).toMatchObject({ type: 'warning', message: expect.stringMatching(/^No output specified/) as unknown })
  })
})
