/**
 * What the CONTEXT argument of `tsbuild build` names, decided as buildx
 * decides it (no file system access): `-` is stdin; a git remote (see
 * parseGitRef, `github.com/org/repo` included) is a repository; any other
 * `http://`/`https://` URL is a download (a tar that is the context, or a
 * Dockerfile); anything else is a local directory.
 */
import { parseGitRef, redactUrl, type GitRef } from './gitRef.js'

export type ContextArg =
  | { readonly kind: 'local'; readonly path: string }
  | { readonly kind: 'stdin' }
  | { readonly kind: 'git'; readonly url: string; readonly git: GitRef }
  | { readonly kind: 'url'; readonly url: string }

/** The argument classified; a git URL with a malformed query throws a USAGE TsbuildError. */
export function classifyContextArg (arg: string): ContextArg {
  if (arg === '-') return { kind: 'stdin' }
  const git = parseGitRef(arg)
  if (git !== undefined) return { kind: 'git', url: arg, git }
  if (/^https?:\/\//.test(arg)) return { kind: 'url', url: arg }
  return { kind: 'local', path: arg }
}

/** How messages and the history name a context: the URL with credentials masked, `-` for stdin. */
export function describeContextArg (c: ContextArg): string {
  switch (c.kind) {
    case 'local': return c.path
    case 'stdin': return '-'
    case 'git':
    case 'url': return redactUrl(c.url)
  }
}
