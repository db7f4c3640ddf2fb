import { lstatSync, readdirSync, readlinkSync, type Dirent } from 'node:fs'
import path from 'node:path'
import { compileGoPattern } from './goGlob.js'
import { hasGlobChars } from './pattern.js'
import { joinRel, parentOf, relativeInRoot } from './cleanPath.js'

/** Symlinks followed on the way to one path; the copy that reads it gives up at the same count. */
const MAX_LINK_HOPS = 255

/**
 * A glob element matching more names than this in one directory takes the
 * whole directory instead: the scan's patterns are tested against every
 * entry walked, so thousands of them would cost more than the walk saves.
 */
const MAX_MATCHES_PER_GLOB = 256

/**
 * Turn a local source's follow paths (the context paths a build reads, each
 * element a Go glob as in a COPY source) into include patterns for the scan:
 * each path that exists as a literal pattern, plus every symlink met on the
 * way and where it leads, so `COPY link/file` finds `real/file`. Globs are
 * expanded here against the directory with the copy's own matcher, so the
 * scan and the copy never disagree about what a wildcard selects; a glob
 * that selects a great many names takes its directory instead. Taking more
 * than needed is always safe (copies key on what they read), taking less is
 * not, so whatever cannot be written as a literal pattern widens to its
 * parent directory.
 *
 * Links resolve inside `root`, as they do in the copy. Links further down a
 * selected directory are copied as links, so they are not followed. Returns
 * undefined when the scan must take everything.
 */
export function includePatternsFor (root: string, followPaths: readonly string[]): string[] | undefined {
  const out = new Set<string>()
  let isEverything = false
  /** `rel` (a real path, no glob) as a pattern matching only itself, or its parent when it cannot be one. */
  const take = (rel: string): void => {
    for (let p = rel; ; p = parentOf(p)) {
      if (p === '') { isEverything = true; return }
      const pattern = literalPattern(p)
      if (pattern !== undefined) { out.add(pattern); return }
    }
  }
  // `entered`: directories walked into since the last link, which the scan
  // holds only if something below them is taken.
  const visit = (dir: string, rest: readonly string[], hops: number, entered: number): void => {
    if (isEverything) return
    if (rest.length === 0) { take(dir); return }
    const [head, ...tail] = rest as [string, ...string[]]
    // Only a link target has `..` here: it leaves the directory really
    // reached, as in the copy, which must find that directory on its way.
    if (head === '..') {
      if (entered > 0) take(dir)
      visit(parentOf(dir), tail, hops, Math.max(0, entered - 1))
      return
    }
    if (!hasGlobChars(head)) { enter(dir, head, tail, hops, entered); return }
    let entries: Dirent[]
    try { entries = readdirSync(path.join(root, dir), { withFileTypes: true }) } catch { take(dir); return }
    let re: RegExp
    // A pattern Go rejects fails the COPY that reads it, on its own line; the scan just takes the directory.
    try { re = compileGoPattern(head) } catch { take(dir); return }
    const matches = entries.filter((e) => re.test(e.name))
    if (matches.length > MAX_MATCHES_PER_GLOB) { take(dir); return }
    for (const e of matches) enter(dir, e.name, tail, hops, entered, e.isSymbolicLink())
  }
  // One literal name: a symlink is recorded and followed, anything else walked into.
  const enter = (dir: string, name: string, tail: readonly string[], hops: number, entered: number, knownLink?: boolean): void => {
    const next = joinRel(dir, name)
    let isLink = knownLink
    if (isLink === undefined) {
      try {
        isLink = lstatSync(path.join(root, next)).isSymbolicLink()
      } catch {
        take(next) // missing: the step that reads it says so
        return
      }
    }
    if (!isLink || hops >= MAX_LINK_HOPS) { visit(next, tail, hops, entered + 1); return }
    take(next)
    const target = readlinkSync(path.join(root, next))
    // The target's names are real names, not globs.
    const names = target.split('/').filter((n) => n !== '' && n !== '.').map((n) => n === '..' ? n : escapeGlob(n))
    visit(target.startsWith('/') ? '' : dir, [...names, ...tail], hops + 1, 0)
  }
  for (const p of followPaths) {
    const rel = relativeInRoot(p)
    if (rel === '') return undefined
    try {
      visit('', splitRel(rel), 0, 0)
    } catch (err) {
      // A glob the copy cannot compile either: the step reports it; scan everything meanwhile.
      if (err instanceof SyntaxError) return undefined
      throw err
    }
    if (isEverything) return undefined
  }
  return withinPatternLimit([...out])
}

/**
 * The scan tests every pattern against every entry it walks, so thousands
 * of them (`COPY packages/*\/src/*.ts` over a large tree) would cost more
 * than scanning everything. Past the limit the deepest patterns give way to
 * their parent directories until few enough are left.
 */
const MAX_PATTERNS = 256

function withinPatternLimit (patterns: string[]): string[] | undefined {
  let list = patterns
  while (list.length > MAX_PATTERNS) {
    const depth = Math.max(...list.map((p) => p.split('/').length))
    if (depth === 1) return undefined
    list = [...new Set(list.map((p) => p.split('/').length === depth ? p.slice(0, p.lastIndexOf('/')) : p))]
  }
  // A pattern below another one adds nothing.
  const set = new Set(list)
  return list.filter((p) => !ancestorsOf(p).some((a) => set.has(a))).sort()
}

function ancestorsOf (pattern: string): string[] {
  const out: string[] = []
  for (let i = pattern.indexOf('/'); i >= 0; i = pattern.indexOf('/', i + 1)) out.push(pattern.slice(0, i))
  return out
}

function splitRel (rel: string): string[] {
  return rel === '' ? [] : rel.split('/')
}

function escapeGlob (name: string): string {
  return name.replace(/[*?[\\]/g, (c) => `\\${c}`)
}

/**
 * A pattern (.dockerignore rules) matching exactly the path `rel`: glob
 * characters escaped, and each element's leading `!` or blank too (the
 * matcher also tests elements on their own). Undefined when an element ends
 * in a blank, which the matcher loses to trimming.
 */
function literalPattern (rel: string): string | undefined {
  const parts = rel.split('/')
  if (parts.some((p) => /\s$/.test(p))) return undefined
  return parts.map((p) => {
    const escaped = escapeGlob(p)
    return /^[!\s]/.test(escaped) ? `\\${escaped}` : escaped
  }).join('/')
}
