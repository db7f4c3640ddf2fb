import { TsbuildError } from '../../common/errors.js'
import type { ProvenanceOptions } from '../../exporter/index.js'

/** What Go's strconv.ParseBool reads, which buildx uses for --provenance, --sbom and `disabled=`. */
const TRUE = new Set(['1', 't', 'T', 'true', 'TRUE', 'True'])
const FALSE = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False'])

const PROVENANCE_KEYS = ['mode', 'builder-id', 'inline-only', 'version', 'reproducible']

interface Attest { type: string; disabled: boolean; attrs: Map<string, string>; flag: string }

/**
 * `--provenance`, `--sbom` and `--attest`, as buildx reads them: a bool turns
 * the attestation on or off, anything else is its `key=value` list; a later
 * flag for the same type replaces an earlier one, and --provenance/--sbom
 * come after every --attest. Returns the provenance to make, or undefined.
 * SBOMs need a scanner tsbuild does not have: asking for one is a usage
 * error, turning one off is accepted (what a drop-in switch from buildx needs).
 */
export function parseAttestationFlags (provenance: string | undefined, sbom: string | undefined, attest: readonly string[]): ProvenanceOptions | undefined {
  const all = attest.map((a) => parseAttest(a, `--attest ${a}`))
  if (provenance !== undefined && provenance !== '') all.push(shorthand('provenance', provenance))
  if (sbom !== undefined && sbom !== '') all.push(shorthand('sbom', sbom))
  const last = new Map<string, Attest>()
  for (const a of all) last.set(a.type, a)
  const sbomAsked = last.get('sbom')
  if (sbomAsked !== undefined && !sbomAsked.disabled) {
    throw new TsbuildError('USAGE', `${sbomAsked.flag}: tsbuild makes no SBOM attestations (it has no package scanner)`, {
      hint: 'leave the flag out or turn it off (--sbom=false, --attest type=sbom,disabled=true); --provenance works',
    })
  }
  const p = last.get('provenance')
  if (p === undefined || p.disabled) return undefined
  return provenanceOptions(p)
}

function shorthand (type: string, value: string): Attest {
  const flag = `--${type}=${value}`
  if (TRUE.has(value) || FALSE.has(value)) return { type, disabled: FALSE.has(value), attrs: new Map(), flag }
  return parseAttest(`type=${type},${value}`, flag)
}

function parseAttest (spec: string, flag: string): Attest {
  let type: string | undefined
  let disabled = false
  const attrs = new Map<string, string>()
  for (const field of spec.split(',')) {
    const eq = field.indexOf('=')
    if (eq < 0) throw new TsbuildError('USAGE', `${flag}: invalid value ${JSON.stringify(field)}: expected key=value`)
    const key = field.slice(0, eq).trim().toLowerCase()
    const value = field.slice(eq + 1)
    if (key === 'type') type = value
    else if (key === 'disabled') disabled = parseBool(value, flag, key)
    else attrs.set(key, value)
  }
  if (type === undefined || type === '') throw new TsbuildError('USAGE', `${flag}: attestation type not specified`, { hint: 'use type=provenance (or type=sbom,disabled=true)' })
  if (type !== 'provenance' && type !== 'sbom') throw new TsbuildError('USAGE', `${flag}: unknown attestation type ${JSON.stringify(type)}: expected provenance or sbom`)
  return { type, disabled, attrs, flag }
}

function provenanceOptions (a: Attest): ProvenanceOptions {
  for (const key of a.attrs.keys()) {
    if (!PROVENANCE_KEYS.includes(key)) throw new TsbuildError('USAGE', `${a.flag}: unknown provenance option ${JSON.stringify(key)}`, { hint: `known: ${PROVENANCE_KEYS.join(', ')}, disabled` })
  }
  // As buildx documents it: min unless asked for max (BuildKit's `full` is max).
  const modeValue = a.attrs.get('mode') ?? 'min'
  const mode = modeValue === 'full' ? 'max' : modeValue
  if (mode !== 'min' && mode !== 'max') throw new TsbuildError('USAGE', `${a.flag}: invalid mode ${JSON.stringify(modeValue)}: expected min or max`)
  const version = a.attrs.get('version') ?? 'v0.2'
  if (version !== 'v0.2' && version !== 'v1') throw new TsbuildError('USAGE', `${a.flag}: invalid version ${JSON.stringify(version)}: expected v0.2 or v1`)
  const builderId = a.attrs.get('builder-id')
  return {
    mode,
    version,
    inlineOnly: parseBool(a.attrs.get('inline-only') ?? 'false', a.flag, 'inline-only'),
    reproducible: parseBool(a.attrs.get('reproducible') ?? 'false', a.flag, 'reproducible'),
    ...(builderId !== undefined && builderId !== '' ? { builderId } : {}),
  }
}

function parseBool (value: string, flag: string, key: string): boolean {
  if (TRUE.has(value)) return true
  if (FALSE.has(value)) return false
  throw new TsbuildError('USAGE', `${flag}: invalid value ${JSON.stringify(value)} for ${key}: expected true or false`)
}
