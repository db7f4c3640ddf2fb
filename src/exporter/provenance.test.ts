import { describe, expect, test } from 'vitest'
import type { Platform } from '../common/platform.js'
import { inTotoStatement, provenancePredicate, refToPurl, type BuildFacts, type ProvenanceOptions } from './provenance.js'

const amd64: Platform = { os: 'linux', architecture: 'amd64' }
const arm64: Platform = { os: 'linux', architecture: 'arm64', variant: 'v8' }
const DIGEST = `sha256:${'a'.repeat(64)}`

describe('refToPurl (as BuildKit names images)', () => {
  test.each<[string, Platform | undefined, string]>([
    ['alpine', undefined, 'pkg:docker/alpine@latest'],
    ['library/alpine:3.15', undefined, 'pkg:docker/alpine@3.15'],
    ['docker.io/library/alpine:latest', undefined, 'pkg:docker/alpine@latest'],
    [`docker.io/library/alpine:latest@${DIGEST}`, undefined, `pkg:docker/alpine@latest?digest=${DIGEST}`],
    [`docker.io/library/alpine@${DIGEST}`, undefined, `pkg:docker/alpine?digest=${DIGEST}`],
    ['user/test:v2', undefined, 'pkg:docker/user/test@v2'],
    ['ghcr.io/foo/bar', undefined, 'pkg:docker/ghcr.io/foo/bar@latest'],
    ['127.0.0.1:5000/app:1', amd64, 'pkg:docker/127.0.0.1:5000/app@1?platform=linux%2Famd64'],
    [`busybox@${DIGEST}`, amd64, `pkg:docker/busybox?digest=${DIGEST}&platform=linux%2Famd64`],
    ['app', arm64, 'pkg:docker/app@latest?platform=linux%2Farm64'],
  ])('%s %j → %s', (ref, platform, want) => {
    expect(refToPurl(ref, platform)).toBe(want)
  })
})

const facts: BuildFacts = {
  invocationId: 'abcdefghijklmnopqrstuvwxy',
  startedOn: new Date('2024-01-02T03:04:05.678Z'),
  args: { 'label:team': 'core', 'build-arg:TOKEN_NAME': 'x', target: 'release' },
  entryPoint: 'ci/Dockerfile',
  locals: ['context', 'dockerfile'],
  secrets: [{ id: 'npm', optional: false }],
  ssh: [{ id: 'default', optional: true }],
  builderPlatform: amd64,
  isNetworkUsed: true,
  dockerfile: { filename: 'ci/Dockerfile', data: 'FROM busybox\n' },
}
const materials = [{ uri: 'pkg:docker/busybox@latest?platform=linux%2Famd64', digest: { sha256: 'b'.repeat(64) } }]
const opts = (o: Partial<ProvenanceOptions>): ProvenanceOptions => ({ mode: 'max', version: 'v0.2', inlineOnly: false, reproducible: false, ...o })
const finished = new Date('2024-01-02T03:05:00Z')

describe('provenancePredicate', () => {
  test('v0.2, mode=max: every parameter, the Dockerfile source, complete parameters', () => {
    const { predicateType, predicate } = provenancePredicate(facts, materials, opts({ builderId: 'https://ci/1' }), finished)
    expect(predicateType).toBe('https://slsa.dev/provenance/v0.2')
    expect(predicate).toEqual({
      builder: { id: 'https://ci/1' },
      buildType: 'https://mobyproject.org/buildkit@v1',
      materials,
      invocation: {
        configSource: { entryPoint: 'ci/Dockerfile' },
        parameters: {
          frontend: 'dockerfile.v0',
          args: { 'build-arg:TOKEN_NAME': 'x', 'label:team': 'core', target: 'release' },
          secrets: [{ id: 'npm' }],
          ssh: [{ id: 'default', optional: true }],
          locals: [{ name: 'context' }, { name: 'dockerfile' }],
        },
        environment: { platform: 'linux/amd64' },
      },
      metadata: {
        buildInvocationID: 'abcdefghijklmnopqrstuvwxy',
        buildStartedOn: '2024-01-02T03:04:05Z',
        buildFinishedOn: '2024-01-02T03:05:00Z',
        completeness: { parameters: true, environment: true, materials: false },
        reproducible: false,
        'https://mobyproject.org/buildkit@v1#metadata': { source: { infos: [{ filename: 'ci/Dockerfile', language: 'Dockerfile', data: Buffer.from('FROM busybox\n').toString('base64') }] } },
      },
    })
  })

  test('mode=min drops build-arg and label values, secrets, ssh and the source; parameters are then incomplete', () => {
    const { predicate } = provenancePredicate(facts, materials, opts({ mode: 'min', reproducible: true }), finished) as { predicate: any } // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(predicate.invocation.parameters).toEqual({ frontend: 'dockerfile.v0', args: { target: 'release' }, locals: [{ name: 'context' }, { name: 'dockerfile' }] })
    expect(predicate.metadata.completeness.parameters).toBe(false)
    expect(predicate.metadata.reproducible).toBe(true)
    expect(predicate.metadata['https://mobyproject.org/buildkit@v1#metadata']).toEqual({})
    expect(predicate.builder).toEqual({ id: '' })
  })

  test('a build without local sources or network is hermetic, with complete materials', () => {
    const { predicate } = provenancePredicate({ ...facts, locals: [], isNetworkUsed: false, configSource: { uri: 'https://example.com/r.git#main', digest: { sha1: 'c'.repeat(40) } } }, [], opts({}), finished) as { predicate: any } // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(predicate.metadata.completeness.materials).toBe(true)
    expect(predicate.metadata['https://mobyproject.org/buildkit@v1#hermetic']).toBe(true)
    expect(predicate.invocation.configSource).toEqual({ uri: 'https://example.com/r.git#main', digest: { sha1: 'c'.repeat(40) }, entryPoint: 'ci/Dockerfile' })
    expect(predicate.materials).toBeUndefined()
  })

  test('version=v1 writes buildDefinition and runDetails', () => {
    const { predicateType, predicate } = provenancePredicate(facts, materials, opts({ version: 'v1', mode: 'min' }), finished) as { predicateType: string; predicate: any } // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(predicateType).toBe('https://slsa.dev/provenance/v1')
    expect(predicate.buildDefinition.resolvedDependencies).toEqual(materials)
    expect(predicate.buildDefinition.externalParameters.configSource).toEqual({ path: 'ci/Dockerfile' })
    expect(predicate.buildDefinition.internalParameters).toEqual({ builderPlatform: 'linux/amd64' })
    expect(predicate.runDetails.metadata).toMatchObject({ invocationID: facts.invocationId, startedOn: '2024-01-02T03:04:05Z', buildkit_completeness: { request: false, resolvedDependencies: false } })
  })

  test('the statement wraps the predicate with its subjects', () => {
    const subject = [{ name: 'pkg:docker/app@1?platform=linux%2Famd64', digest: { sha256: 'd'.repeat(64) } }]
    expect(inTotoStatement('https://slsa.dev/provenance/v0.2', { x: 1 }, subject)).toEqual({ _type: 'https://in-toto.io/Statement/v0.1', predicateType: 'https://slsa.dev/provenance/v0.2', subject, predicate: { x: 1 } })
  })
})
