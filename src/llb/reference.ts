import { TsbuildError } from '../common/errors.js'

const DEFAULT_DOMAIN = 'docker.io'
const COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/
const TAG_RE = /^[\w][\w.-]{0,127}$/
const DIGEST_RE = /^sha256:[a-f0-9]{64}$/
const DOMAIN_RE = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?$|^\[[0-9a-fA-F:]+\](?::[0-9]+)?$/

/**
 * Normalise an image reference the way Docker does (`alpine` →
 * `docker.io/library/alpine:latest`, `index.docker.io/x/y` →
 * `docker.io/x/y:latest`; a digest-only reference gets no tag), so the same
 * image always yields the same source identifier. Throws TsbuildError
 * INVALID_REFERENCE for anything outside the reference grammar.
 */
export function normalizeImageRef (ref: string): string {
  const bad = (why: string): never => {
    throw new TsbuildError('INVALID_REFERENCE', `invalid image reference ${JSON.stringify(ref)}: ${why}`)
  }
  if (ref === '') bad('empty')
  let rest = ref
  let digest: string | undefined
  const at = rest.indexOf('@')
  if (at >= 0) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
    if (!DIGEST_RE.test(digest)) bad(`bad digest ${JSON.stringify(digest)}`)
  }
  let tag: string | undefined
  const lastColon = rest.lastIndexOf(':')
  if (lastColon > rest.lastIndexOf('/')) {
    tag = rest.slice(lastColon + 1)
    rest = rest.slice(0, lastColon)
    if (!TAG_RE.test(tag)) bad(`bad tag ${JSON.stringify(tag)}`)
  }
  let domain = DEFAULT_DOMAIN
  let path = rest
  const slash = rest.indexOf('/')
  if (slash >= 0) {
    const first = rest.slice(0, slash)
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
      domain = first
      path = rest.slice(slash + 1)
      if (!DOMAIN_RE.test(domain)) bad(`bad registry ${JSON.stringify(domain)}`)
    }
  }
  if (domain === 'index.docker.io') domain = DEFAULT_DOMAIN
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = `library/${path}`
  if (path === '' || path.split('/').some((c) => !COMPONENT_RE.test(c))) bad('repository name must be lowercase letters, digits and separators')
  if (tag === undefined && digest === undefined) tag = 'latest'
  return `${domain}/${path}${tag !== undefined ? `:${tag}` : ''}${digest !== undefined ? `@${digest}` : ''}`
}
