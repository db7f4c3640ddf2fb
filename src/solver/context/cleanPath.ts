/**
 * Lexical path cleaning with Go's `path.Clean` rules (the ones Docker applies
 * to .dockerignore patterns and COPY sources): repeated slashes collapse, `.`
 * elements go, `..` removes the element before it, a rooted path never climbs
 * above `/`, and the empty path becomes `.`.
 */
export function cleanPath (p: string): string {
  if (p === '') return '.'
  const isRooted = p.startsWith('/')
  const out: string[] = []
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop()
      else if (!isRooted) out.push('..')
      continue
    }
    out.push(part)
  }
  const joined = out.join('/')
  if (isRooted) return '/' + joined
  return joined === '' ? '.' : joined
}

/**
 * A path inside a root, as the root-relative form the scanner uses: no leading
 * slash, `..` clamped at the root, `''` for the root itself.
 */
export function relativeInRoot (p: string): string {
  const cleaned = cleanPath('/' + p)
  return cleaned === '/' ? '' : cleaned.slice(1)
}

export function parentOf (rel: string): string {
  const i = rel.lastIndexOf('/')
  return i < 0 ? '' : rel.slice(0, i)
}

export function baseName (rel: string): string {
  return rel.slice(rel.lastIndexOf('/') + 1)
}

export function joinRel (dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`
}
