import { mkdtempSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

/** `{ 'a/b.txt': 'text', 'dir/': null, 'link': { symlink: '../x' } }` → a fresh temp directory. */
export type TreeSpec = Record<string, string | null | { symlink: string } | { content: string; mode: number }>

export function makeTree (spec: TreeSpec, prefix = 'tsbuild-ctx-'): string {
  const root = mkdtempSync(path.join(tmpdir(), prefix))
  writeTree(root, spec)
  return root
}

export function writeTree (root: string, spec: TreeSpec): void {
  for (const [rel, v] of Object.entries(spec)) {
    const abs = path.join(root, rel)
    mkdirSync(path.dirname(abs), { recursive: true })
    if (v === null) mkdirSync(abs, { recursive: true })
    else if (typeof v === 'string') writeFileSync(abs, v)
    else if ('symlink' in v) symlinkSync(v.symlink, abs)
    else writeFileSync(abs, v.content, { mode: v.mode })
  }
}
