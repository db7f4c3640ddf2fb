import { TsbuildError } from '../../common/errors.js'

/** What Go's strconv.ParseBool reads as false, which buildx accepts for --provenance and --sbom. */
const FALSE = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False'])

/**
 * `--provenance`, `--sbom` and `--attest`, as CI tools pass them to buildx.
 * tsbuild makes no attestations, so the forms that turn them off are taken
 * (what a drop-in switch from buildx needs) and any that asks for one is a
 * usage error rather than an image silently without it.
 */
export function checkAttestationFlags (provenance: string | undefined, sbom: string | undefined, attest: readonly string[]): void {
  const asked: string[] = []
  if (provenance !== undefined && !isOff(provenance)) asked.push(`--provenance=${provenance}`)
  if (sbom !== undefined && !isOff(sbom)) asked.push(`--sbom=${sbom}`)
  for (const a of attest) {
    const fields = a.split(',')
    const type = fields.find((f) => f.startsWith('type='))?.slice('type='.length)
    if (type !== 'provenance' && type !== 'sbom') throw new TsbuildError('USAGE', `invalid --attest ${JSON.stringify(a)}: expected type=provenance or type=sbom`)
    if (!fields.includes('disabled=true')) asked.push(`--attest ${a}`)
  }
  if (asked.length > 0) {
    throw new TsbuildError('USAGE', `${asked.join(', ')}: tsbuild does not make attestations (provenance or SBOM) yet`, {
      hint: 'leave the flag out, or turn it off as buildx takes it: --provenance=false, --sbom=false, --attest type=…,disabled=true',
    })
  }
}

function isOff (value: string): boolean {
  return FALSE.has(value) || value.split(',').includes('disabled=true')
}
