/**
 * Entitlements a build's steps need, as BuildKit enforces them: a
 * `RUN --network=host` needs `network.host` and a `RUN --security=insecure`
 * needs `security.insecure`, granted with `--allow` (a build-wide
 * `--network=host` grants `network.host` itself, as buildx does). Checked
 * before anything runs, naming the Dockerfile line that asked.
 */
import { DockerfileError, TsbuildError } from '../common/errors.js'
import type { Definition, Op, OpMetadata } from '../llb/index.js'
import type { Entitlement } from './request.js'

function needed (op: Op): Array<{ entitlement: Entitlement; what: string }> {
  if (op.kind !== 'exec') return []
  const out: Array<{ entitlement: Entitlement; what: string }> = []
  if (op.network === 'host') out.push({ entitlement: 'network.host', what: '--network=host' })
  if (op.security === 'insecure') out.push({ entitlement: 'security.insecure', what: '--security=insecure' })
  return out
}

/** Throw for the first step whose entitlement was not granted. */
export function checkEntitlements (definitions: readonly Definition[], allowed: ReadonlySet<Entitlement>, file: string): void {
  for (const def of definitions) {
    for (const [digest, op] of def.ops) {
      for (const { entitlement, what } of needed(op)) {
        if (allowed.has(entitlement)) continue
        const message = `RUN ${what} needs the ${entitlement} entitlement, which this build does not grant`
        const hint = `add --allow ${entitlement}`
        const range = firstRange(def.metadata.get(digest))
        if (range === undefined) throw new TsbuildError('PERMISSION_DENIED', message, { hint })
        throw new DockerfileError('PERMISSION_DENIED', `${file}:${range.start.line}: ${message}`, { file, ranges: [range], hint })
      }
    }
  }
}

function firstRange (md: OpMetadata | undefined): NonNullable<OpMetadata['locations']>[number]['ranges'][number] | undefined {
  return md?.locations?.[0]?.ranges[0]
}
