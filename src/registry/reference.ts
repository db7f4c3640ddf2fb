import { isDigest, type Digest } from '../common/digest.js'
import { TsbuildError } from '../common/errors.js'

/**
 * A fully qualified image reference, normalised the way Docker does:
 * `busybox` → registry `docker.io`, repository `library/busybox`, tag `latest`.
 * A reference with a digest keeps its tag only when one was written.
 */
export interface ImageReference {
  /** Registry host with optional port, e.g. `docker.io`, `localhost:5000`, `[::1]:5000`. */
  readonly registry: string
  /** Repository path inside the registry, e.g. `library/busybox`. */
  readonly repository: string
  readonly tag?: string
  readonly digest?: Digest
}

export const DEFAULT_REGISTRY = 'docker.io'
export const DEFAULT_TAG = 'latest'
const MAX_NAME_LENGTH = 255

// The distribution/reference grammar, written out piece by piece.
const ALNUM = '[a-z0-9]+'
const SEPARATOR = '(?:[._]|__|-+)'
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`
const PATH_COMPONENT_RE = new RegExp(`^${PATH_COMPONENT}$`)
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])'
const IPV6 = '\\[[a-fA-F0-9:]+\\]'
const HOST_RE = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|${IPV6})(?::[0-9]+)?$`)
const TAG_RE = /^[\w][\w.-]{0,127}$/
const DIGEST_SYNTAX_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/

function invalid (input: string, why: string): TsbuildError {
  return new TsbuildError('INVALID_REFERENCE', `invalid image reference ${JSON.stringify(input)}: ${why}`)
}

/** Parse and normalise an image reference; throws INVALID_REFERENCE saying what is wrong. */
export function parseReference (input: string): ImageReference {
  const s = input.trim()
  if (s === '') throw invalid(input, 'it is empty')
  if (/\s/.test(s)) throw invalid(input, 'it contains whitespace')

  let rest = s
  let digest: Digest | undefined
  const at = rest.indexOf('@')
  if (at >= 0) {
    const d = rest.slice(at + 1)
    rest = rest.slice(0, at)
    if (!DIGEST_SYNTAX_RE.test(d)) throw invalid(input, `${JSON.stringify(d)} is not a digest (expected sha256:<64 hex>)`)
    if (!d.startsWith('sha256:')) throw invalid(input, `digest algorithm ${JSON.stringify(d.split(':')[0])} is not supported (only sha256)`)
    if (!isDigest(d)) throw invalid(input, `digest ${JSON.stringify(d)} must be sha256 followed by 64 lowercase hex characters`)
    digest = d
  }

  // A tag follows the last ':' only if no '/' comes after it (else it is a port).
  let tag: string | undefined
  const colon = rest.lastIndexOf(':')
  if (colon >= 0 && !rest.slice(colon + 1).includes('/') && !rest.slice(colon + 1).includes(']')) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (!TAG_RE.test(tag)) {
      throw invalid(input, tag === '' ? 'the tag after ":" is empty' : `tag ${JSON.stringify(tag)} must be 1-128 characters of [A-Za-z0-9_.-] not starting with "." or "-"`)
    }
  }
  if (rest === '') throw invalid(input, 'the repository name is empty')

  let registry = DEFAULT_REGISTRY
  let repository = rest
  const slash = rest.indexOf('/')
  if (slash >= 0) {
    const first = rest.slice(0, slash)
    // Docker's rule: the first component is a registry when it looks like a host.
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
      if (!HOST_RE.test(first)) throw invalid(input, `registry host ${JSON.stringify(first)} is not a valid host[:port]`)
      registry = first
      repository = rest.slice(slash + 1)
    }
  }
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = DEFAULT_REGISTRY

  if (repository === '') throw invalid(input, 'the repository name is empty')
  if (repository !== repository.toLowerCase()) throw invalid(input, `repository name ${JSON.stringify(repository)} must be lowercase`)
  for (const component of repository.split('/')) {
    if (component === '') throw invalid(input, 'the repository name has an empty path component')
    if (!PATH_COMPONENT_RE.test(component)) {
      throw invalid(input, `path component ${JSON.stringify(component)} may contain only [a-z0-9] separated by ".", "_", "__" or "-"`)
    }
  }
  if (registry === DEFAULT_REGISTRY && !repository.includes('/')) repository = `library/${repository}`
  const nameLength = registry.length + 1 + repository.length
  if (nameLength > MAX_NAME_LENGTH) throw invalid(input, `the name is ${nameLength} characters long (at most ${MAX_NAME_LENGTH})`)

  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG
  return { registry, repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) }
}

/** `registry/repository[:tag][@digest]`, always fully qualified. */
export function formatReference (ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`
}

/** The short form Docker shows: `busybox:latest`, `user/app:1`, `localhost:5000/x:y`. */
export function familiarName (ref: ImageReference): string {
  let name = `${ref.registry}/${ref.repository}`
  if (ref.registry === DEFAULT_REGISTRY) {
    name = ref.repository.startsWith('library/') && ref.repository.split('/').length === 2 ? ref.repository.slice('library/'.length) : ref.repository
  }
  return `${name}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`
}

/** The same repository pinned to a digest (the tag dropped), as pulls record it. */
export function withDigest (ref: ImageReference, digest: Digest): ImageReference {
  return { registry: ref.registry, repository: ref.repository, digest }
}

/** The manifest reference to request: the digest when pinned, else the tag. */
export function manifestReference (ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? DEFAULT_TAG
}
