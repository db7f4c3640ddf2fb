import type { Stats } from 'node:fs'
import { lstat, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { isWhiteout, listOpaqueDirs, OPAQUE_XATTR, removeXattr, runTool } from './fsext.js'

/**
 * Materialise a chain of overlay-format diff dirs (bottom first) into
 * `target` as one plain tree, with overlay's semantics: a whiteout removes
 * what lies below, an opaque dir hides the lower dir's contents, and an entry
 * of another type replaces the lower one. Used by the copy snapshotter.
 */
export async function mergeLayers (layers: readonly string[], target: string): Promise<void> {
  for (const layer of layers) {
    const opaque = await listOpaqueDirs(layer)
    const whiteouts: string[] = []
    await prepareTarget(layer, target, '', opaque, whiteouts)
    // --remove-destination breaks hard links shared with lower files, like overlay's copy-up.
    await runTool('cp', ['-a', '--no-dereference', '--remove-destination', '--', `${layer}/.`, `${target}/`])
    for (const rel of whiteouts) await rm(join(target, rel), { force: true })
    for (const dir of opaque) {
      const rel = dir.slice(layer.length)
      await removeXattr(join(target, rel), OPAQUE_XATTR).catch(() => undefined)
    }
  }
}

// Clear out whatever in `target` the layer's entries replace, so the copy that follows only adds.
async function prepareTarget (layer: string, target: string, rel: string, opaque: Set<string>, whiteouts: string[]): Promise<void> {
  for (const name of await readdir(join(layer, rel))) {
    const childRel = rel === '' ? name : `${rel}/${name}`
    const src = await lstat(join(layer, childRel))
    const dst = await lstatOrUndefined(join(target, childRel))
    if (isWhiteout(src)) {
      whiteouts.push(childRel)
      if (dst !== undefined) await rm(join(target, childRel), { recursive: true, force: true })
      continue
    }
    if (dst !== undefined && (src.isDirectory() !== dst.isDirectory() || !src.isDirectory())) {
      await rm(join(target, childRel), { recursive: true, force: true })
      continue
    }
    if (src.isDirectory() && dst !== undefined) {
      if (opaque.has(join(layer, childRel))) {
        for (const inner of await readdir(join(target, childRel))) await rm(join(target, childRel, inner), { recursive: true, force: true })
      } else {
        await prepareTarget(layer, target, childRel, opaque, whiteouts)
      }
    }
  }
}

export async function lstatOrUndefined (p: string): Promise<Stats | undefined> {
  try {
    return await lstat(p, { bigint: false })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined
    throw err
  }
}
