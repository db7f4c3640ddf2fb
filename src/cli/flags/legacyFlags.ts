/**
 * `docker build` flags from before BuildKit that buildx still takes (hidden)
 * so old scripts keep working: resource limits and container clean-up flags
 * are accepted and ignored, and three that change what a user gets print a
 * warning, as buildx does. `--cgroup-parent` is refused: buildx honours it,
 * tsbuild cannot.
 */
import { TsbuildError } from '../../common/errors.js'
import { getBool, getList, getString, type FlagSpec, type ParsedArgs } from './parseArgs.js'

export const LEGACY_BUILD_FLAGS: readonly FlagSpec[] = [
  { long: 'rm', kind: 'bool' },
  { long: 'force-rm', kind: 'bool' },
  { long: 'compress', kind: 'bool' },
  { long: 'memory', short: 'm', kind: 'string' },
  { long: 'memory-swap', kind: 'string' },
  { long: 'cpu-shares', short: 'c', kind: 'string' },
  { long: 'cpu-period', kind: 'string' },
  { long: 'cpu-quota', kind: 'string' },
  { long: 'cpuset-cpus', kind: 'string' },
  { long: 'cpuset-mems', kind: 'string' },
  { long: 'isolation', kind: 'string' },
  { long: 'security-opt', kind: 'list' },
  { long: 'squash', kind: 'bool' },
  { long: 'cgroup-parent', kind: 'string' },
]

/** The warnings the build prints for legacy flags that were given; throws for one tsbuild cannot honour. */
export function legacyFlagWarnings (p: ParsedArgs): string[] {
  if (getString(p, 'cgroup-parent') !== undefined) {
    throw new TsbuildError('USAGE', '--cgroup-parent is not supported: tsbuild runs every RUN step in a cgroup of its own making', { hint: 'leave the flag out; limit the whole tsbuild process instead (e.g. systemd-run --scope -p MemoryMax=…)' })
  }
  const warnings: string[] = []
  if (getString(p, 'isolation') !== undefined) warnings.push('--isolation is ignored: RUN steps always run in tsbuild\'s runc sandbox')
  if (getList(p, 'security-opt').length > 0) warnings.push('--security-opt is ignored: use RUN --security=insecure together with --allow security.insecure')
  if (getBool(p, 'squash')) warnings.push('--squash is ignored: to get fewer layers, copy the result of a build stage into a final stage (COPY --from)')
  return warnings
}
