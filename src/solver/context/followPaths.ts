import { lstatSync, readdirSync, readlinkSync } from 'node:fs'
import path from 'node:path'
import { relativeInRoot, joinRel } from './cleanPath.js'
import { hasGlobChars, matchSegment, validateGlob } from './pattern.js'

/** Symlinks followed on the way to one path before giving up (Linux's own limit). */
const MAX_LINK_HOPS = 40

/**
 * Turn a local source's follow paths (the context paths a build reads) into
 * include patterns for the scan: each path as given, plus every symlink met
 * on the way to it and where that symlink leads, so `COPY link/file` finds
 * `real/file`. A glob element is matched against the directory's names, so
 * links it selects are followed too. Links resolve inside `root`, as they do
 * in the copy. Links found further down a selected directory are copied as
 * links, so they are not followed.
 *
 * Returns undefined when the scan must take everything: a path that leads to
 * the root itself, or one that is not a valid pattern (the step that reads it
 * then reports the problem).
 */
export function includePatternsFor (root: string, followPaths: readonly string[]): string[] | undefined {
  const out = new Set<string>()
  let isEverything = false
  const visit = (dir: string, rest: readonly string[], hops: number): void => {
    if (isEverything) return
    if (rest.length === 0) {
      // Where a link led; a path reached without one is covered by its own pattern.
      if (hops === 0) return
      if (dir === '') isEverything = true
      else out.add(escapeGlob(dir))
      return
    }
    const [head, ...tail] = rest as [string, ...string[]]
    if (!hasGlobChars(head)) { enter(dir, head, tail, hops); return }
    let names: string[]
    try { names = readdirSync(path.join(root, dir)) } catch { return }
    for (const name of names) if (matchSegment(head, name)) enter(dir, name, tail, hops)
  }
  // One literal name: a symlink is recorded and followed, anything else walked into.
  const enter = (dir: string, name: string, tail: readonly string[], hops: number): void => {
    const next = joinRel(dir, name)
    let isLink = false
    try { isLink = lstatSync(path.join(root, next)).isSymbolicLink() } catch { /* missing: its pattern still stands */ }
    if (!isLink || hops >= MAX_LINK_HOPS) { visit(next, tail, hops); return }
    out.add(escapeGlob(next))
    const target = readlinkSync(path.join(root, next))
    const resolved = relativeInRoot(target.startsWith('/') ? target : `${dir}/${target}`)
    visit('', [...splitRel(resolved).map(escapeGlob), ...tail], hops + 1)
  }
  for (const p of followPaths) {
    const rel = relativeInRoot(p)
    if (rel === '') return undefined
    try { validateGlob(rel) } catch { return undefined }
    out.add(rel)
    visit('', splitRel(rel), 0)
  }
  return isEverything ? undefined : [...out].sort()
}

function splitRel (rel: string): string[] {
  return rel === '' ? [] : rel.split('/')
}

/** A name from the disk as a pattern that matches only itself. */
function escapeGlob (rel: string): string {
  return rel.replace(/[*?[\\]/g, (c) => `\\${c}`)
}
