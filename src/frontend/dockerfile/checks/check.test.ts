import { describe, expect, test } from 'vitest'
import { checkDockerfile } from './check.js'
import { RULES, ruleNames, type RuleName } from './rules.js'
import type { CheckRequest, IgnoreMatcher } from './types.js'

const amd64 = { os: 'linux', architecture: 'amd64' }

/** Matches exact paths and their parents only: enough for the ignore-file cases below. */
function ignoring (...patterns: string[]): IgnoreMatcher {
  return {
    patterns,
    matches: (path) => patterns.some(p => p === '*' || path === p || path.startsWith(p + '/')),
  }
}

async function check (dockerfile: string, opts: Partial<CheckRequest> = {}) {
  return checkDockerfile({ dockerfile, file: 'Dockerfile', buildArgs: new Map(), targetPlatform: amd64, buildPlatform: amd64, ...opts })
}

async function rulesOf (dockerfile: string, opts: Partial<CheckRequest> = {}): Promise<string[]> {
  return (await check(dockerfile, opts)).findings.map(f => f.rule)
}

const ignoreSecret: Partial<CheckRequest> = { dockerignore: ignoring('secret.txt') }

// [rule, Dockerfile that triggers it, Dockerfile that does not, request options]
const cases: Array<[RuleName, string, string, Partial<CheckRequest>?]> = [
  ['StageNameCasing', 'FROM scratch AS Build\n', 'FROM scratch AS build\n'],
  ['FromAsCasing', 'FROM scratch as build\n', 'FROM scratch AS build\n'],
  ['NoEmptyContinuation', 'FROM scratch\nLABEL a=1 \\\n\n  b=2\n', 'FROM scratch\nLABEL a=1 \\\n  b=2\n'],
  ['ConsistentInstructionCasing', 'FROM scratch\nCOPY a /a\ncopy b /b\nCOPY c /c\n', 'from scratch\ncopy a /a\n'],
  ['DuplicateStageName', 'FROM scratch AS a\nFROM scratch AS a\n', 'FROM scratch AS a\nFROM scratch AS b\n'],
  ['ReservedStageName', 'FROM scratch AS context\n', 'FROM scratch AS contexts\n'],
  ['JSONArgsRecommended', 'FROM scratch\nCMD run --fast\n', 'FROM scratch\nCMD ["run", "--fast"]\n'],
  ['JSONArgsRecommended', 'FROM scratch\nENTRYPOINT run\n', 'FROM scratch\nSHELL ["/bin/bash", "-c"]\nENTRYPOINT run\n'],
  ['MaintainerDeprecated', 'FROM scratch\nMAINTAINER me\n', 'FROM scratch\nLABEL org.opencontainers.image.authors=me\n'],
  ['UndefinedArgInFrom', 'FROM busybox:${VERSON}\n', 'ARG VERSION=1\nFROM busybox:${VERSION}\n'],
  ['WorkdirRelativePath', 'FROM scratch\nWORKDIR app\n', 'FROM scratch\nWORKDIR /app\nWORKDIR sub\n'],
  ['UndefinedVar', 'FROM scratch\nCOPY $SRC /a\n', 'FROM scratch\nARG SRC\nCOPY $SRC /a\n'],
  ['UndefinedVar', 'FROM scratch\nENV A=$B\n', 'FROM scratch\nENV B=1\nENV A=$B C=$PATH\n'],
  ['MultipleInstructionsDisallowed', 'FROM scratch\nCMD ["a"]\nCMD ["b"]\n', 'FROM scratch AS a\nCMD ["a"]\nFROM scratch\nCMD ["b"]\n'],
  ['LegacyKeyValueFormat', 'FROM scratch\nENV A 1\n', 'FROM scratch\nENV A=1\n'],
  ['RedundantTargetPlatform', 'FROM --platform=$TARGETPLATFORM scratch\n', 'FROM --platform=$BUILDPLATFORM scratch\n'],
  ['SecretsUsedInArgOrEnv', 'FROM scratch\nARG GITHUB_TOKEN\n', 'FROM scratch\nARG PUBLIC_KEY\nENV KEYBOARD=us\n'],
  ['SecretsUsedInArgOrEnv', 'FROM scratch\nENV DB_PASSWORD=x\n', 'FROM scratch\nENV PASSWORD_FILE=/run/pw\n'],
  ['InvalidDefaultArgInFrom', 'ARG TAG\nFROM busybox:${TAG}\n', 'ARG TAG=latest\nFROM busybox:${TAG}\n'],
  ['FromPlatformFlagConstDisallowed', 'FROM --platform=linux/arm64 scratch AS build\n', 'FROM --platform=linux/arm64 scratch AS build-arm64\n'],
  ['CopyIgnoredFile', 'FROM scratch\nCOPY secret.txt /s\n', 'FROM scratch\nCOPY public.txt /s\n', ignoreSecret],
  ['CopyIgnoredFile', 'FROM scratch\nADD ./secret.txt /s\n', 'FROM scratch AS a\nFROM scratch\nCOPY --from=a secret.txt /s\n', ignoreSecret],
  ['InvalidDefinitionDescription', '# check=experimental=InvalidDefinitionDescription\n# the base\nFROM scratch AS base\n', '# check=experimental=InvalidDefinitionDescription\n# base the base\nFROM scratch AS base\n'],
  ['ExposeProtoCasing', 'FROM scratch\nEXPOSE 80/TCP\n', 'FROM scratch\nEXPOSE 80/tcp 81\n'],
  ['ExposeInvalidFormat', 'FROM scratch\nEXPOSE 8080:80\n', 'FROM scratch\nEXPOSE 80\n'],
]

describe('each rule', () => {
  test('every rule has a case', () => {
    expect(new Set(cases.map(c => c[0]))).toEqual(new Set(ruleNames))
  })

  test.each(cases)('%s: reported', async (rule, bad, _good, opts) => {
    expect(await rulesOf(bad, opts)).toContain(rule)
  })

  test.each(cases)('%s: not reported', async (rule, _bad, good, opts) => {
    expect(await rulesOf(good, opts)).not.toContain(rule)
  })
})

describe('findings', () => {
  test('carry the message, file and line range', async () => {
    const { findings } = await check('FROM scratch\n\nCMD echo hi\n', { file: 'ci/Dockerfile' })
    expect(findings).toEqual([{
      rule: 'JSONArgsRecommended',
      message: 'JSON arguments recommended for CMD to prevent unintended behavior related to OS signals',
      file: 'ci/Dockerfile',
      range: { start: { line: 3, character: 0 }, end: { line: 3, character: 11 } },
    }])
  })

  test('are sorted by line and appear once per line', async () => {
    const { findings } = await check('FROM scratch\nCOPY $X $X /\nMAINTAINER me\nCMD a\n')
    expect(findings.map(f => [f.range?.start.line, f.rule])).toEqual([[2, 'UndefinedVar'], [3, 'MaintainerDeprecated'], [4, 'JSONArgsRecommended']])
  })

  test('MultipleInstructionsDisallowed points at the instruction that has no effect', async () => {
    const { findings } = await check('FROM scratch\nCMD ["a"]\nCMD ["b"]\n')
    expect(findings.map(f => f.range?.start.line)).toEqual([2])
  })

  test('UndefinedVar suggests a close name and knows the base image env', async () => {
    const { findings } = await check('FROM busybox\nENV GREETING=hi\nUSER $GRETING\nWORKDIR $HOME\n', {
      baseImageConfig: async () => ({ Env: ['PATH=/bin', 'HOME=/root'] }),
    })
    expect(findings.map(f => f.message)).toEqual(["Usage of undefined variable '$GRETING' (did you mean $GREETING?)"])
  })

  test('base image configs are asked for the stage platform', async () => {
    const asked: string[] = []
    await check('FROM --platform=$BUILDPLATFORM busybox AS build\nFROM alpine\n', {
      buildPlatform: { os: 'linux', architecture: 'arm64' },
      baseImageConfig: async (ref, p) => { asked.push(`${ref} ${p.os}/${p.architecture}`); return undefined },
    })
    expect(asked).toEqual(['busybox linux/arm64', 'alpine linux/amd64'])
  })

  test('a stage built FROM another inherits its variables', async () => {
    expect(await rulesOf('FROM scratch AS base\nENV A=1\nFROM base\nENV B=$A\n')).toEqual([])
  })

  test('a build arg value is used by ARG in a stage and by FROM', async () => {
    expect(await rulesOf('ARG TAG\nFROM busybox:${TAG}\nARG TAG\nENV T=$TAG\n', { buildArgs: new Map([['TAG', '1']]) })).toEqual(['InvalidDefaultArgInFrom'])
  })
})

describe('configuration', () => {
  const noisy = 'FROM scratch\nMAINTAINER me\nCMD a\n'

  test.each([
    ['# check=skip=MaintainerDeprecated\n', ['JSONArgsRecommended'], false],
    ['# check=skip=MaintainerDeprecated,JSONArgsRecommended\n', [], false],
    ['# check=skip=all\n', [], false],
    ['# check=error=true\n', ['MaintainerDeprecated', 'JSONArgsRecommended'], true],
    ['# check=skip=JSONArgsRecommended;error=true\n', ['MaintainerDeprecated'], true],
    ['', ['MaintainerDeprecated', 'JSONArgsRecommended'], false],
  ])('directive %j', async (directive, rules, isError) => {
    const report = await check(directive + noisy)
    expect(report.findings.map(f => f.rule)).toEqual(rules)
    expect(report.isError).toBe(isError)
  })

  test('BUILDKIT_DOCKERFILE_CHECK replaces the directive', async () => {
    const report = await check('# check=skip=all\n' + noisy, { buildArgs: new Map([['BUILDKIT_DOCKERFILE_CHECK', 'skip=MaintainerDeprecated;error=true']]) })
    expect(report.findings.map(f => f.rule)).toEqual(['JSONArgsRecommended'])
    expect(report.isError).toBe(true)
  })

  test('a check= comment above an instruction skips rules for it only', async () => {
    expect(await rulesOf('FROM scratch\n# check=skip=JSONArgsRecommended\nCMD a\nENTRYPOINT b\n')).toEqual(['JSONArgsRecommended'])
  })

  test('experimental rules run only when asked for', async () => {
    expect(RULES.InvalidDefinitionDescription.isExperimental).toBe(true)
    expect(await rulesOf('# the base\nFROM scratch AS base\n')).toEqual([])
  })

  test.each([
    ['# check=skip\n', /invalid check option "skip"/],
    ['# check=error=maybe\n', /invalid value "maybe" for error/],
    ['# check=ignore=all\n', /invalid check option "ignore"/],
  ])('bad directive %j is a usage error', async (directive, message) => {
    await expect(check(directive + noisy)).rejects.toThrow(message)
  })

  test('syntax errors still throw', async () => {
    await expect(check('FROM scratch\nCOPY onlyone\n')).rejects.toMatchObject({ code: 'INVALID_INSTRUCTION' })
  })
})

describe('target', () => {
  // Line 2 is in `unused`, line 4 in `build`, line 7 in the last stage (reads build only).
  const dockerfile = [
    'FROM scratch AS unused', // 1
    'WORKDIR tmp', // 2: WorkdirRelativePath, a rule that follows a stage's instructions
    'FROM scratch AS build', // 3
    'CMD run', // 4: JSONArgsRecommended
    'FROM scratch AS out', // 5
    'COPY --from=build /a /a', // 6
    'ENV A 1', // 7: LegacyKeyValueFormat
    'MAINTAINER me', // 8: MaintainerDeprecated, a rule on the written text
    'FROM scratch as Other', // 9: FromAsCasing, StageNameCasing on FROM lines
    'EXPOSE 80/TCP', // 10: ExposeProtoCasing
    '',
  ].join('\n')
  const lines = async (opts: Partial<CheckRequest>): Promise<Array<[number | undefined, string]>> =>
    (await check(dockerfile, opts)).findings.map(f => [f.range?.start.line, f.rule])

  test.each<[string, Partial<CheckRequest>, Array<[number, string]>]>([
    ['no target: every stage', {}, [[2, 'WorkdirRelativePath'], [4, 'JSONArgsRecommended'], [7, 'LegacyKeyValueFormat'], [8, 'MaintainerDeprecated'], [9, 'FromAsCasing'], [9, 'StageNameCasing'], [10, 'ExposeProtoCasing']]],
    ['a target: the stages it reads from, plus text and FROM rules everywhere', { target: 'out' }, [[4, 'JSONArgsRecommended'], [7, 'LegacyKeyValueFormat'], [8, 'MaintainerDeprecated'], [9, 'FromAsCasing'], [9, 'StageNameCasing']]],
    ['a target matched case-insensitively', { target: 'BUILD' }, [[4, 'JSONArgsRecommended'], [8, 'MaintainerDeprecated'], [9, 'FromAsCasing'], [9, 'StageNameCasing']]],
    ['no target and not all stages: what the last stage needs', { isAllStages: false }, [[8, 'MaintainerDeprecated'], [9, 'FromAsCasing'], [9, 'StageNameCasing'], [10, 'ExposeProtoCasing']]],
    ['an unknown target checks everything (the build reports it)', { target: 'nope' }, [[2, 'WorkdirRelativePath'], [4, 'JSONArgsRecommended'], [7, 'LegacyKeyValueFormat'], [8, 'MaintainerDeprecated'], [9, 'FromAsCasing'], [9, 'StageNameCasing'], [10, 'ExposeProtoCasing']]],
  ])('%s', async (_name, opts, expected) => {
    expect(await lines(opts)).toEqual(expected)
  })

  test.each([
    ['FROM <stage>', 'FROM scratch AS a\nCMD run\nFROM a AS b\nFROM scratch\n'],
    ['COPY --from by index', 'FROM scratch\nCMD run\nFROM scratch AS b\nCOPY --from=0 /a /a\nFROM scratch\n'],
    ['RUN --mount from=', 'FROM scratch AS a\nCMD run\nFROM scratch AS b\nRUN --mount=from=a,target=/a true\nFROM scratch\n'],
  ])('a stage read through %s is checked', async (_how, text) => {
    expect((await check(text, { target: 'b' })).findings.map(f => f.rule)).toEqual(['JSONArgsRecommended'])
  })

  test('a base image is looked up only for the stages checked', async () => {
    const asked: string[] = []
    await check('FROM alpine AS unused\nFROM busybox AS b\n', { target: 'b', baseImageConfig: async (ref) => { asked.push(ref); return undefined } })
    expect(asked).toEqual(['busybox'])
  })
})

describe('rules', () => {
  test.each([
    ['JSONArgsRecommended', 'https://docs.docker.com/go/dockerfile/rule/json-args-recommended/'],
    ['FromAsCasing', 'https://docs.docker.com/go/dockerfile/rule/from-as-casing/'],
    ['FromPlatformFlagConstDisallowed', 'https://docs.docker.com/go/dockerfile/rule/from-platform-flag-const-disallowed/'],
  ] as const)('%s links to its page', (name, url) => {
    expect(RULES[name].url).toBe(url)
  })
})
