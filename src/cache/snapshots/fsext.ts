import { spawn } from 'node:child_process'
import type { Stats } from 'node:fs'
import { TsbuildError } from '../../common/errors.js'
import { missingTool, runTool as runHelperTool } from '../../common/helperShell.js'

/**
 * Filesystem operations Node has no API for (device nodes, extended
 * attributes), done through coreutils/attr tools.
 */
export const OPAQUE_XATTR = 'trusted.overlay.opaque'

/**
 * Run a host tool to completion and return its stdout. Short tools go
 * through the helper shells (see common/helperShell.ts); `cp`, which may
 * copy a whole tree, gets a process of its own so it holds no shell.
 */
export async function runTool (cmd: string, args: readonly string[], opts: { cwd?: string } = {}): Promise<string> {
  if (cmd === 'cp') return await spawnTool(cmd, args, opts)
  return (await runHelperTool(cmd, args, opts)).toString('utf8')
}

async function spawnTool (cmd: string, args: readonly string[], opts: { cwd?: string }): Promise<string> {
  return await new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const errOut: Buffer[] = []
    child.stdout.on('data', (b: Buffer) => out.push(b))
    child.stderr.on('data', (b: Buffer) => errOut.push(b))
    child.on('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? missingTool(cmd, err) : err))
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'))
      else reject(new TsbuildError('IO', `${cmd} ${args.join(' ')} failed (exit ${code}): ${Buffer.concat(errOut).toString('utf8').trim()}`))
    })
  })
}

export async function makeNode (path: string, kind: 'c' | 'b' | 'p', major = 0, minor = 0): Promise<void> {
  await runTool('mknod', kind === 'p' ? [path, 'p'] : [path, kind, String(major), String(minor)])
}

/** An overlay whiteout: a character device 0/0. */
export async function makeWhiteout (path: string): Promise<void> {
  await makeNode(path, 'c', 0, 0)
}

export function isWhiteout (st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0
}

/** Set an attribute; a Buffer value is passed as hex, so any bytes survive. */
export async function setXattr (path: string, name: string, value: string | Buffer): Promise<void> {
  await runTool('setfattr', ['-h', '-n', name, '-v', typeof value === 'string' ? value : `0x${value.toString('hex')}`, '--', path])
}

export async function removeXattr (path: string, name: string): Promise<void> {
  await runTool('setfattr', ['-h', '-x', name, '--', path])
}

/** One attribute's value, or undefined when unset. */
export async function getXattr (path: string, name: string): Promise<string | undefined> {
  try {
    const out = await runTool('getfattr', ['-h', '--only-values', '-n', name, '--', path])
    return out
  } catch (err) {
    if (err instanceof TsbuildError && err.code === 'MISSING_DEPENDENCY') throw err
    return undefined
  }
}

export async function isOpaque (dirPath: string): Promise<boolean> {
  return (await getXattr(dirPath, OPAQUE_XATTR)) === 'y'
}

/** Device numbers from a Linux dev_t as Node reports it. */
export function devMajor (rdev: number): number { return ((rdev >> 8) & 0xfff) | ((rdev >>> 32) & ~0xfff) }
export function devMinor (rdev: number): number { return (rdev & 0xff) | ((rdev >> 12) & ~0xff) }

/** Every directory under `root` (absolute paths) marked opaque, in one getfattr pass. */
export async function listOpaqueDirs (root: string): Promise<Set<string>> {
  const out = await runTool('getfattr', ['-R', '-P', '-h', '--absolute-names', '-d', '-m', '^trusted\\.overlay\\.opaque$', '-e', 'text', '--', root])
  const dirs = new Set<string>()
  let current: string | undefined
  for (const line of out.split('\n')) {
    if (line.startsWith('# file: ')) current = unescapeGetfattr(line.slice('# file: '.length))
    else if (current !== undefined && line === `${OPAQUE_XATTR}="y"`) dirs.add(current)
  }
  return dirs
}

// getfattr escapes unusual bytes in file names as \ooo (octal).
function unescapeGetfattr (s: string): string {
  if (!s.includes('\\')) return s
  const bytes: number[] = []
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && /^[0-7]{3}$/.test(s.slice(i + 1, i + 4))) {
      bytes.push(parseInt(s.slice(i + 1, i + 4), 8)); i += 3
    } else bytes.push(...Buffer.from(s[i]!, 'utf8'))
  }
  return Buffer.from(bytes).toString('utf8')
}
