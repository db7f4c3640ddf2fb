import { describe, expect, test } from 'vitest'
import { hasCode } from '../../common/errors.js'
import { parseAttestationFlags } from './attestFlags.js'

const MIN = { mode: 'min', version: 'v0.2', inlineOnly: false, reproducible: false }

describe('parseAttestationFlags', () => {
  test.each<[string, string | undefined, string | undefined, string[], unknown]>([
    ['nothing asked', undefined, undefined, [], undefined],
    ['--provenance=true', 'true', undefined, [], MIN],
    ['--provenance=1', '1', undefined, [], MIN],
    ['--provenance=false', 'false', undefined, [], undefined],
    ['--provenance=0 with --sbom=false', '0', 'false', [], undefined],
    ['build-push-action default', 'mode=min,inline-only=true,builder-id=https://github.com/o/r/actions/runs/1', undefined, [],
      { ...MIN, inlineOnly: true, builderId: 'https://github.com/o/r/actions/runs/1' }],
    ['--attest mode=max', undefined, undefined, ['type=provenance,mode=max'], { ...MIN, mode: 'max' }],
    ['mode=full is max, version=v1', 'mode=full,version=v1,reproducible=true', undefined, [], { ...MIN, mode: 'max', version: 'v1', reproducible: true }],
    ['--attest disabled=true', undefined, undefined, ['type=provenance,disabled=true'], undefined],
    ['--provenance comes after --attest', 'false', undefined, ['type=provenance,mode=max'], undefined],
    ['a later --attest replaces an earlier one', undefined, undefined, ['type=provenance,mode=max', 'type=provenance,mode=min'], MIN],
    ['--sbom turned off by --attest', undefined, undefined, ['type=sbom,disabled=true', 'type=provenance'], MIN],
  ])('%s', (_name, provenance, sbom, attest, want) => {
    expect(parseAttestationFlags(provenance, sbom, attest)).toEqual(want)
  })

  test.each<[string | undefined, string | undefined, string[], RegExp]>([
    [undefined, 'true', [], /--sbom=true: tsbuild makes no SBOM attestations/],
    [undefined, undefined, ['type=sbom'], /--attest type=sbom: tsbuild makes no SBOM/],
    ['mode=maximal', undefined, [], /invalid mode "maximal": expected min or max/],
    ['version=v2', undefined, [], /invalid version "v2"/],
    ['inline-only=yes', undefined, [], /invalid value "yes" for inline-only/],
    ['generator=x', undefined, [], /unknown provenance option "generator"/],
    [undefined, undefined, ['mode=max'], /attestation type not specified/],
    [undefined, undefined, ['type=foo'], /unknown attestation type "foo"/],
    [undefined, undefined, ['type=provenance,max'], /invalid value "max": expected key=value/],
  ])('%s %s %j is a usage error', (provenance, sbom, attest, message) => {
    let err: unknown
    try { parseAttestationFlags(provenance, sbom, attest) } catch (e) { err = e }
    expect(hasCode(err, 'USAGE')).toBe(true)
    expect((err as Error).message).toMatch(message)
  })
})
