import { resolve } from 'node:path'
import { TsbuildError } from '../../common/errors.js'
import { nearest } from './nearest.js'
import type { CacheMode, CacheSpec, NamedContext, SecretSpec, SshSpec } from '../../engine/request.js'
import { parseKeyValues } from './csv.js'

/**
 * `--secret id=npm,src=$HOME/.npmrc` | `id=tok,env=TOKEN` | `id=X`. `env` is
 * the client's environment: a bare id is read from it or from a file, as
 * BuildKit's secret store decides.
 */
export function parseSecretSpec (spec: string, cwd: string, env: Readonly<Record<string, string | undefined>>): SecretSpec {
  let id: string | undefined
  let src: string | undefined
  let envName: string | undefined
  let type: string | undefined
  for (const [k, v] of parseKeyValues(spec)) {
    if (v === undefined) throw new TsbuildError('USAGE', `invalid --secret field ${JSON.stringify(k)}: expected key=value`)
    switch (k) {
      case 'id': id = v; break
      case 'src': case 'source': src = v; break
      case 'env': envName = v; break
      case 'type': type = v; break
      default: throw new TsbuildError('USAGE', `unknown --secret key ${JSON.stringify(k)}`, { hint: 'keys: id, src, env, type' })
    }
  }
  if (type !== undefined && type !== 'file' && type !== 'env') throw new TsbuildError('USAGE', `invalid --secret type ${JSON.stringify(type)}: expected file or env`)
  // As buildx: with type=env, src names the variable (id when neither is given).
  if (type === 'env' && envName === undefined) { envName = src ?? id; src = undefined }
  if (id === undefined) id = envName ?? (src !== undefined ? src.split('/').pop() : undefined)
  if (id === undefined || id === '') throw new TsbuildError('USAGE', `--secret ${JSON.stringify(spec)} needs an id`, { hint: 'e.g. --secret id=npmrc,src=$HOME/.npmrc' })
  if (envName !== undefined && src === undefined) return { id, kind: 'env', env: envName }
  if (src !== undefined) return { id, kind: 'file', src: resolve(cwd, src) }
  // As BuildKit's secret store: a bare id is the variable of that name when it is set (even empty),
  // else the file of that name, relative to the working directory.
  if (Object.hasOwn(env, id) && env[id] !== undefined) return { id, kind: 'env', env: id }
  return { id, kind: 'file', src: resolve(cwd, id) }
}

/** `--ssh default` | `--ssh id=/path/key,/path/sock` | `--ssh default=$SSH_AUTH_SOCK`. */
export function parseSshSpec (spec: string, cwd: string): SshSpec {
  const eq = spec.indexOf('=')
  const id = eq === -1 ? spec : spec.slice(0, eq)
  if (!/^[A-Za-z0-9_.-]+$/.test(id)) throw new TsbuildError('USAGE', `invalid --ssh id ${JSON.stringify(id)}`)
  const paths = eq === -1 ? [] : spec.slice(eq + 1).split(',').filter(Boolean).map((p) => resolve(cwd, p))
  return { id, paths }
}

/** `--build-context name=DIR | docker-image://REF | oci-layout://PATH[:TAG]`. */
export function parseBuildContext (spec: string, cwd: string): [string, NamedContext] {
  const eq = spec.indexOf('=')
  if (eq <= 0) throw new TsbuildError('USAGE', `invalid --build-context ${JSON.stringify(spec)}: expected NAME=SOURCE`)
  const name = spec.slice(0, eq)
  const value = spec.slice(eq + 1)
  // As buildx: a name is a stage name or an image reference, both lowercase.
  if (!/^[a-z0-9][a-z0-9._\/:@-]*$/.test(name)) {
    throw new TsbuildError('USAGE', `invalid --build-context name ${JSON.stringify(name)}: a name is a stage name or an image reference, in lowercase`)
  }
  if (value.startsWith('docker-image://')) return [name, { kind: 'image', ref: value.slice('docker-image://'.length) }]
  if (value.startsWith('oci-layout://')) {
    // oci-layout://PATH[:TAG][@sha256:DIGEST], as buildx spells it.
    const m = /^(.*?)(?::([\w][\w.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$/.exec(value.slice('oci-layout://'.length))!
    const path = resolve(cwd, m[1]!)
    return [name, { kind: 'oci-layout', path, ...(m[2] !== undefined ? { ref: m[2] } : {}), ...(m[3] !== undefined ? { digest: m[3] } : {}) }]
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(value)) {
    throw new TsbuildError('USAGE', `unsupported --build-context source ${JSON.stringify(value)}`, { hint: 'use a directory, docker-image://REF or oci-layout://PATH[:TAG]' })
  }
  return [name, { kind: 'local', path: resolve(cwd, value) }]
}

/** `--cache-to/--cache-from type=local|registry|inline,...` (buildx spelling). A bare REF means type=registry. */
/**
 * The --cache-from/--cache-to fields: tsbuild's own, and those BuildKit's
 * local and registry caches take that tsbuild has no use for (its cache
 * format fixes media types and compression), accepted so buildx command
 * lines work as they are.
 */
const CACHE_KEYS = [
  'type', 'ref', 'mode', 'src', 'dest', 'ignore-error', 'mounts', 'mount-max-size',
  'oci-mediatypes', 'image-manifest', 'compression', 'compression-level', 'force-compression', 'tag', 'digest',
]

export function parseCacheSpec (spec: string, dir: 'from' | 'to', cwd: string): CacheSpec {
  const fields = parseKeyValues(spec)
  if (fields.length === 1 && fields[0]![1] === undefined) return { type: 'registry', ref: spec.trim(), mode: 'min', ignoreError: false, mounts: false }
  const kv = new Map<string, string>()
  for (const [k, v] of fields) {
    if (v === undefined) throw new TsbuildError('USAGE', `invalid --cache-${dir} field ${JSON.stringify(k)}: expected key=value`)
    kv.set(k, v)
  }
  const type = kv.get('type') ?? 'registry'
  if (type !== 'local' && type !== 'registry' && type !== 'inline') throw new TsbuildError('USAGE', `unsupported cache type ${JSON.stringify(type)}`, { hint: 'use type=local, type=registry or type=inline' })
  for (const k of kv.keys()) {
    // A misspelt key would be dropped silently (mod=max gives a min-mode cache); keys BuildKit knows are taken.
    if (CACHE_KEYS.includes(k)) continue
    const near = nearest(k, CACHE_KEYS)
    throw new TsbuildError('USAGE', `unknown field ${JSON.stringify(k)} in --cache-${dir}${near !== undefined ? ` (did you mean ${near}?)` : ''}`, { hint: `known fields: ${CACHE_KEYS.join(', ')}` })
  }
  const mode = (kv.get('mode') ?? 'min') as CacheMode
  if (mode !== 'min' && mode !== 'max') throw new TsbuildError('USAGE', `invalid cache mode ${JSON.stringify(mode)}: expected min or max`)
  const bool = (k: string): boolean => {
    const v = kv.get(k)
    if (v === undefined) return false
    if (/^(true|1)$/i.test(v)) return true
    if (/^(false|0)$/i.test(v)) return false
    throw new TsbuildError('USAGE', `invalid ${k}=${v} in --cache-${dir}: expected true or false`)
  }
  // Per cache mount, the largest contents `mounts=true` exports (bigger ones are skipped with a warning).
  const maxSizeText = kv.get('mount-max-size')
  const mountMaxSize = maxSizeText === undefined ? undefined : parseSize(maxSizeText)
  if (mountMaxSize === undefined && maxSizeText !== undefined) throw new TsbuildError('USAGE', `invalid mount-max-size=${maxSizeText} in --cache-${dir}: expected a size such as 500MB or 2g`)
  const maxSize = mountMaxSize !== undefined ? { mountMaxSize } : {}
  switch (type) {
    case 'local': {
      const d = kv.get(dir === 'to' ? 'dest' : 'src')
      if (d === undefined) throw new TsbuildError('USAGE', `--cache-${dir} type=local needs ${dir === 'to' ? 'dest' : 'src'}=DIR`)
      return { type: 'local', dir: resolve(cwd, d), mode, ignoreError: bool('ignore-error'), mounts: bool('mounts'), ...maxSize }
    }
    case 'registry': {
      const ref = kv.get('ref')
      if (ref === undefined) throw new TsbuildError('USAGE', `--cache-${dir} type=registry needs ref=REF`)
      return { type: 'registry', ref, mode, ignoreError: bool('ignore-error'), mounts: bool('mounts'), ...maxSize }
    }
    case 'inline':
      return { type: 'inline', mode: 'min', ignoreError: bool('ignore-error'), mounts: false }
  }
}

/** `500MB`, `1.5g`, `1024`: binary units, as RUN --mount size= reads them. */
function parseSize (text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?) ?([kmgt]?)i?b?$/i.exec(text.trim())
  return m === null ? undefined : Math.floor(Number(m[1]) * 1024 ** 'bkmgt'.indexOf((m[2] || 'b').toLowerCase()))
}
