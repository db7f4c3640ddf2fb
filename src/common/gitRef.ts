/**
 * Git remotes as BuildKit recognises them, for build contexts
 * (`tsbuild build https://host/org/repo.git#main:docker`) and for ADD:
 *
 * - `git://…`, `ssh://…`, scp-like `user@host:path`;
 * - `http(s)://…` only when the path ends in `.git` (any other http URL is a
 *   plain download);
 * - `github.com/org/repo`, which looks like a local path and is therefore
 *   taken as git only for a build context, never by ADD.
 *
 * The ref and subdirectory come from a `#ref:subdir` fragment or from the
 * query form BuildKit also takes (`?ref=v1&subdir=docker`, `?tag=`,
 * `?branch=`, `?checksum=`/`?commit=`, `?keep-git-dir=`).
 */
import { posix } from 'node:path'
import { TsbuildError } from './errors.js'

export interface GitRef {
  /** What git fetches from: the URL without fragment or query. */
  readonly remote: string
  /** Branch, tag (`refs/tags/…` from `?tag=`), or commit; absent means the remote's HEAD. */
  readonly ref?: string
  /** Directory inside the repository that becomes the root. */
  readonly subdir?: string
  /** A full commit the ref must resolve to (`?checksum=`/`?commit=`). */
  readonly checksum?: string
  /** `?keep-git-dir=`; undefined when the URL does not say. */
  readonly keepGitDir?: boolean
  /** `github.com/org/repo`: git for a build context only (BuildKit keeps this form for contexts, deprecated). */
  readonly isIndistinguishableFromLocal: boolean
  /** The repository's name, e.g. `repo` for `https://host/org/repo.git`. */
  readonly shortName: string
}

const GIT_SCHEMES = new Set(['http', 'https', 'ssh', 'git'])
const SCHEME_RE = /^([a-zA-Z0-9]+):\/\//
const SCP_RE = /^([A-Za-z0-9_-]+)@([A-Za-z0-9.-]+):(.*?)(?:\?(.*?))?(?:#(.*))?$/

/**
 * `s` as a git remote, or undefined when it is not one (a local path, a
 * plain http download, an unknown scheme). A git URL whose query is wrong
 * (an unknown key, conflicting refs) throws a USAGE TsbuildError.
 */
export function parseGitRef (s: string): GitRef | undefined {
  if (s.startsWith('./') || s.startsWith('../')) return undefined
  let parts: { remote: string; fragment: string; query: URLSearchParams; isLocalLooking: boolean } | undefined
  if (s.startsWith('github.com/')) {
    parts = fromUrl(`https://${s}`, true)
  } else {
    const scheme = SCHEME_RE.exec(s)?.[1]?.toLowerCase()
    if (scheme !== undefined) {
      if (!GIT_SCHEMES.has(scheme)) return undefined
      parts = fromUrl(s, false)
      if (parts !== undefined && (scheme === 'http' || scheme === 'https') && !new URL(parts.remote).pathname.endsWith('.git')) return undefined
    } else {
      const m = SCP_RE.exec(s)
      if (m !== null) parts = { remote: `${m[1]}@${m[2]}:${m[3]}`, fragment: m[5] ?? '', query: new URLSearchParams(m[4] ?? ''), isLocalLooking: false }
    }
  }
  if (parts === undefined) return undefined
  const ref: { -readonly [K in keyof GitRef]?: GitRef[K] } = {}
  if (parts.fragment !== '') {
    const colon = parts.fragment.indexOf(':')
    const fragRef = colon < 0 ? parts.fragment : parts.fragment.slice(0, colon)
    const subdir = colon < 0 ? '' : cleanSubdir(parts.fragment.slice(colon + 1))
    if (fragRef !== '') ref.ref = fragRef
    if (subdir !== '') ref.subdir = subdir
  }
  applyQuery(ref, parts.query, s)
  const shortName = (parts.remote.split(/[/:]/).at(-1) ?? '').replace(/\.git$/, '')
  return { ...ref, remote: parts.remote, isIndistinguishableFromLocal: parts.isLocalLooking, shortName } as GitRef
}

function fromUrl (s: string, isLocalLooking: boolean): { remote: string; fragment: string; query: URLSearchParams; isLocalLooking: boolean } | undefined {
  let u: URL
  try { u = new URL(s) } catch { return undefined }
  const fragment = safeDecode(u.hash.slice(1))
  const query = new URLSearchParams(u.search)
  u.hash = ''
  u.search = ''
  return { remote: u.toString(), fragment, query, isLocalLooking }
}

function safeDecode (s: string): string {
  try { return decodeURIComponent(s) } catch { return s }
}

function cleanSubdir (s: string): string {
  return posix.join('/', s).replace(/^\/+|\/+$/g, '')
}

const FLAG_KEYS = new Set(['keep-git-dir'])

function applyQuery (ref: { -readonly [K in keyof GitRef]?: GitRef[K] }, query: URLSearchParams, url: string): void {
  const fail = (msg: string): never => { throw new TsbuildError('USAGE', `invalid git URL ${redactUrl(url)}: ${msg}`) }
  let tag: string | undefined
  let branch: string | undefined
  for (const key of new Set(query.keys())) {
    const values = query.getAll(key)
    if (values.length > 1) fail(`query "${key}" has multiple values`)
    const v = values[0] ?? ''
    if (v === '' && !FLAG_KEYS.has(key)) fail(`query "${key}" has no value`)
    switch (key) {
      case 'ref':
        if (ref.ref !== undefined && ref.ref !== v) fail(`ref conflicts: "${ref.ref}" vs "${v}"`)
        ref.ref = v
        break
      case 'tag': tag = v; break
      case 'branch': branch = v; break
      case 'subdir': {
        const sub = cleanSubdir(v)
        if (ref.subdir !== undefined && ref.subdir !== sub) fail(`subdir conflicts: "${ref.subdir}" vs "${sub}"`)
        if (sub !== '') ref.subdir = sub
        break
      }
      case 'checksum':
      case 'commit':
        if (!/^[0-9a-f]{40}$/.test(v)) fail(`${key} must be a full 40-character commit SHA, got "${v}"`)
        ref.checksum = v
        break
      case 'keep-git-dir': {
        const b = v === '' ? true : parseGoBool(v)
        if (b === undefined) fail(`invalid keep-git-dir value: "${v}"`)
        ref.keepGitDir = b
        break
      }
      default:
        fail(`unexpected query "${key}" (tsbuild takes ref, tag, branch, subdir, checksum, commit and keep-git-dir)`)
    }
  }
  if (tag !== undefined) {
    const full = tag.startsWith('refs/tags/') ? tag : `refs/tags/${tag}`
    if (ref.ref !== undefined && ref.ref !== full) fail(`ref conflicts: "${ref.ref}" vs "${full}"`)
    ref.ref = full
  }
  if (branch !== undefined) {
    if (tag !== undefined) fail('branch conflicts with tag')
    const full = branch.startsWith('refs/heads/') ? branch : `refs/heads/${branch}`
    if (ref.ref !== undefined && ref.ref !== full) fail(`ref conflicts: "${ref.ref}" vs "${full}"`)
    ref.ref = full
  }
}

/** Go's strconv.ParseBool, which BuildKit uses for boolean build args and queries. */
export function parseGoBool (s: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false
  return undefined
}

// Up to the last @ of the authority, as URL parsers read it: a password may hold an unescaped @.
const USERINFO_RE = /\b([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)([^/?#\s'"]*)@/g

/**
 * Text with the credentials of every URL in it masked, for messages and the
 * history: `https://user:secret@host` → `https://user:xxxxx@host`; a lone
 * http(s) user (often a token) → `https://xxxxx@host`. An ssh user such as
 * `git@` is a name, not a secret, and stays.
 */
export function redactUrl (text: string): string {
  return text.replace(USERINFO_RE, (_m, scheme: string, info: string) => {
    const colon = info.indexOf(':')
    if (colon >= 0) return `${scheme}${info.slice(0, colon)}:xxxxx@`
    return /^https?:\/\/$/i.test(scheme) ? `${scheme}xxxxx@` : `${scheme}${info}@`
  })
}

/** `url` with the credentials redactUrl would mask removed, for places that keep it (a kept `.git/config`). */
export function stripUrlCredentials (url: string): string {
  return redactUrl(url).replace(/^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)(?:xxxxx@|([^@/?#:]*):xxxxx@)/, (_m, scheme: string, user?: string) => user !== undefined ? `${scheme}${user}@` : scheme)
}
