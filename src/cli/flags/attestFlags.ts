import { TsbuildError } from '../../common/errors.js'

/** What Go's strconv.ParseBool reads as false, which buildx accepts for --provenance and --sbom. */
const FALSE = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False'])

/**
 * `--provenance`, `--sbom` and `--attest`, as CI tools pass them to buildx.
 * tsbuild makes no attestations, so the forms that turn them off are taken
 * (what a drop-in switch from buildx needs) and any that asks for one is a
 * usage error rather than an image silently without it.
 */
export function checkAttestationFlags (provenance: string | true | undefined, sbom: string | true | undefined, attest: readonly string[]): void {
  const asked: string[] = []
  if (provenance !== undefined && !isOff(provenance)) asked.push(`--provenance${provenance === true ? '' : `=${provenance}`}`)
  if (sbom !== undefined && !isOff(sbom)) asked.push(`--sbom${sbom === true ? '' : `=${sbom}`}`)
  for (const a of attest) {
    const fields = a.split(',')
    if (!fields.some((f) => f.startsWith('type='))) throw new TsbuildError('USAGE', `invalid --attest ${JSON.stringify(a)}: expected type=provenance|sbom[,…]`)
    if (!fields.includes('disabled=true')) asked.push(`--attest ${a}`)
  }
  if (asked.length > 0) {
    throw new TsbuildError('USAGE', `${asked.join(', ')}: tsbuild does not make attestations (provenance or SBOM) yet`, {
      hint: 'leave the flag out, or turn it off as buildx takes it: --provenance=false, --sbom=false, --attest type=…,disabled=true',
    })
  }
}

function isOff (value: string | true): boolean {
  if (value === true) return false
  return FALSE.has(value) || value.split(',').includes('disabled=true')
}
