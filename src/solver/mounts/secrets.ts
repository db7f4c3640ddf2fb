import { readFile } from 'node:fs/promises'
import { TsbuildError } from '../../common/errors.js'
import type { SecretSpec } from '../../engine/request.js'
import type { SecretEnv, SecretMount } from '../../llb/index.js'
import type { ExecMount } from '../executor/index.js'

/**
 * The secrets a build may use, from its `--secret` specs. Values are read on
 * demand and never cached here, so nothing outlives the step that asked.
 * `env` is the client's environment (the CLI passes its own), never this
 * process's: a daemon serves clients with other environments.
 */
export class SecretProvider {
  private readonly specs: Map<string, SecretSpec>
  private readonly env: Readonly<Record<string, string | undefined>>

  constructor (specs: readonly SecretSpec[], env: Readonly<Record<string, string | undefined>>) {
    this.specs = new Map(specs.map((s) => [s.id, s]))
    this.env = env
  }

  has (id: string): boolean {
    return this.specs.has(id)
  }

  /** The secret's bytes; undefined when no such secret was passed (or its variable is unset). */
  async get (id: string): Promise<Buffer | undefined> {
    const spec = this.specs.get(id)
    if (spec === undefined) return undefined
    if (spec.kind === 'env') {
      const value = this.env[spec.env]
      return value === undefined ? undefined : Buffer.from(value, 'utf8')
    }
    try {
      return await readFile(spec.src)
    } catch (err) {
      throw new TsbuildError('NOT_FOUND', `secret ${JSON.stringify(id)}: cannot read ${spec.src}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err })
    }
  }
}

export interface SecretExecParts {
  /** Secret files for the executor, which keeps them on a tmpfs for the run only. */
  mounts: ExecMount[]
  /** `NAME=value` entries to add to the process environment. */
  env: string[]
  /** Every secret value handed out, so callers can redact them from logs. */
  values: Buffer[]
}

/**
 * Resolve a RUN's secret mounts and secret env vars. A missing secret that is
 * not optional fails the step with a message on how to pass it; an optional
 * one is simply left out (no mount, no variable).
 */
export async function resolveSecrets (
  provider: SecretProvider,
  mounts: readonly SecretMount[],
  secretEnv: readonly SecretEnv[],
): Promise<SecretExecParts> {
  const out: SecretExecParts = { mounts: [], env: [], values: [] }
  for (const m of mounts) {
    const data = await provider.get(m.secretId)
    if (data === undefined) {
      if (m.optional) continue
      throw missingSecret(m.secretId, `mounted at ${m.dest}`)
    }
    out.values.push(data)
    out.mounts.push({ type: 'secret', destination: m.dest, data, mode: m.mode, uid: m.uid, gid: m.gid })
  }
  for (const e of secretEnv) {
    const data = await provider.get(e.id)
    if (data === undefined) {
      if (e.optional) continue
      throw missingSecret(e.id, `for the environment variable ${e.name}`)
    }
    out.values.push(data)
    out.env.push(`${e.name}=${data.toString('utf8')}`)
  }
  return out
}

function missingSecret (id: string, where: string): TsbuildError {
  return new TsbuildError('NOT_FOUND', `secret ${JSON.stringify(id)} ${where} was not provided`, {
    hint: `pass it with --secret id=${id},src=<file> or --secret id=${id},env=<VARIABLE>, or mark the mount required=false`,
  })
}
