import { readFile } from 'node:fs/promises'
import { relative } from 'node:path'
import { TsbuildError } from '../../common/errors.js'
import { runTool } from './fsext.js'
import type { Mount } from './types.js'

// The kernel copies mount options into a single page; leave room for the rest.
const MAX_OPTIONS_LENGTH = 4096 - 512

/**
 * Mount `mounts` (in order) at `target`. When an overlay's options would
 * exceed a page, its layer paths are rewritten relative to `relativeTo`
 * and `mount` runs from there, as containerd does for deep chains.
 */
export async function mountAll (mounts: readonly Mount[], target: string, opts: { relativeTo?: string } = {}): Promise<void> {
  for (const m of mounts) {
    let options = [...m.options]
    let cwd: string | undefined
    if (m.type === 'overlay' && options.join(',').length > MAX_OPTIONS_LENGTH && opts.relativeTo !== undefined) {
      cwd = opts.relativeTo
      options = options.map((o) => relativizeOption(o, cwd!))
      if (options.join(',').length > 4095) throw tooManyLayers(m.options)
    }
    if (m.type === 'bind') {
      const rw = options.filter((o) => o !== 'ro' && o !== 'rw')
      await runTool('mount', ['--bind', m.source, target], cwd === undefined ? {} : { cwd })
      if (options.includes('ro')) await runTool('mount', ['-o', ['remount', 'bind', 'ro', ...rw.filter((o) => o !== 'rbind' && o !== 'bind')].join(','), target])
    } else {
      await runTool('mount', ['-t', m.type, m.source, '-o', options.join(','), target], cwd === undefined ? {} : { cwd })
    }
  }
}

/** A stack deeper than one overlay mount can name: the user's Dockerfile made it, so say so plainly. */
function tooManyLayers (options: readonly string[]): TsbuildError {
  const lower = options.find((o) => o.startsWith('lowerdir='))
  const layers = lower === undefined ? 0 : lower.split(':').length
  return new TsbuildError('TOO_LARGE', `this step stacks ${layers} layers, more than overlayfs can mount at once here (about 280)`, {
    hint: 'combine RUN, COPY and ADD steps into fewer layers (Docker stops at 127)',
  })
}

function relativizeOption (option: string, base: string): string {
  const eq = option.indexOf('=')
  if (eq < 0) return option
  const key = option.slice(0, eq)
  if (key !== 'lowerdir' && key !== 'upperdir' && key !== 'workdir') return option
  const value = option.slice(eq + 1).split(':').map((p) => relative(base, p)).join(':')
  return `${key}=${value}`
}

/** Unmount `target` (lazily as a last resort), repeating until nothing is stacked there. */
export async function unmountAll (target: string): Promise<void> {
  for (let i = 0; i < 16 && await isMountPoint(target); i++) {
    try {
      await runTool('umount', [target])
    } catch {
      await runTool('umount', ['-l', target])
    }
  }
}

export async function isMountPoint (path: string): Promise<boolean> {
  const info = await readFile('/proc/self/mountinfo', 'utf8')
  const escaped = path.replace(/[\\ \t\n]/g, (c) => '\\' + c.charCodeAt(0).toString(8).padStart(3, '0'))
  return info.split('\n').some((line) => line.split(' ')[4] === escaped)
}
