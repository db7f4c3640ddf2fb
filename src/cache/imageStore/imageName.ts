import type { Digest } from '../../common/digest.js'
import { TsbuildError } from '../../common/errors.js'

/**
 * Image names as the store keys them. `fullName` is the normalised reference
 * (`busybox` → `docker.io/library/busybox:latest`) and identifies the image;
 * `refName` is what goes in index.json's `org.opencontainers.image.ref.name`:
 * the short, familiar form without a default `:latest`, because
 * containers/image (`skopeo … oci:<root>:<ref>`) matches that annotation
 * byte for byte and users type `oci:<root>:app`.
 *
 * This is a small local parser following distribution/reference's grammar;
 * the registry module's `parseReference` is the full one.
 */
export interface ImageName {
  readonly fullName: string
  readonly refName: string
  /** `docker.io/library/app`: the name without tag or digest. */
  readonly repository: string
  /** The pinned digest of `name@sha256:…`. */
  readonly digest?: Digest
}

const DEFAULT_DOMAIN = 'docker.io'
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/
const TAG = /^[\w][\w.-]{0,127}$/
const DIGEST = /^sha256:[a-f0-9]{64}$/
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::\d+)?$|^\[[0-9a-fA-F:]+\](?::\d+)?$/

export function parseImageName (input: string): ImageName {
  const bad = (why: string): TsbuildError =>
    new TsbuildError('INVALID_REFERENCE', `invalid image name ${JSON.stringify(input)}: ${why}`)
  let rest = input.trim()
  let digest: string | undefined
  const at = rest.indexOf('@')
  if (at >= 0) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
    if (!DIGEST.test(digest)) throw bad('the digest must be sha256:<64 hex>')
  }
  let tag: string | undefined
  const lastSlash = rest.lastIndexOf('/')
  const colon = rest.lastIndexOf(':')
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (!TAG.test(tag)) throw bad(`tag ${JSON.stringify(tag)} is not valid`)
  }
  const parts = rest.split('/')
  let domain = DEFAULT_DOMAIN
  const first = parts[0] ?? ''
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase())) {
    domain = first === 'index.docker.io' ? DEFAULT_DOMAIN : first
    parts.shift()
    if (!DOMAIN.test(domain)) throw bad(`registry host ${JSON.stringify(domain)} is not valid`)
  }
  if (parts.length === 0 || parts.some((p) => !COMPONENT.test(p))) {
    throw bad('repository names use lowercase letters, digits and separators (. _ __ -), split by /')
  }
  if (domain === DEFAULT_DOMAIN && parts.length === 1) parts.unshift('library')
  const path = parts.join('/')
  if (tag === undefined && digest === undefined) tag = 'latest'
  const suffix = (tag !== undefined ? `:${tag}` : '') + (digest !== undefined ? `@${digest}` : '')
  const fullName = `${domain}/${path}${suffix}`
  let familiar = domain === DEFAULT_DOMAIN ? (path.startsWith('library/') ? path.slice('library/'.length) : path) : `${domain}/${path}`
  if (tag !== undefined && !(tag === 'latest' && digest === undefined)) familiar += `:${tag}`
  if (digest !== undefined) familiar += `@${digest}`
  return { fullName, refName: familiar, repository: `${domain}/${path}`, ...(digest !== undefined ? { digest: digest as Digest } : {}) }
}

/** Like parseImageName, but undefined for strings that are not image names. */
export function tryParseImageName (input: string): ImageName | undefined {
  try {
    return parseImageName(input)
  } catch {
    return undefined
  }
}
