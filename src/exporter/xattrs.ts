import { spawn } from 'node:child_process'
import { relative } from 'node:path'
import { TsbuildError } from '../common/errors.js'

/** Extended attributes by path relative to the walked root ('' is the root itself). */
export type XattrTable = Map<string, Map<string, Buffer>>

/**
 * Read every extended attribute under `root` with one `getfattr -R` run
 * (Node has no xattr API, and one process per tree costs far less than one
 * per file). Values come hex-encoded, so binary ones survive intact; files
 * without attributes are simply absent from the table.
 */
export async function readXattrTree (root: string): Promise<XattrTable> {
  const child = spawn('getfattr', ['--absolute-names', '-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '--', root], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const out: Buffer[] = []
  const err: Buffer[] = []
  child.stdout.on('data', (d: Buffer) => out.push(d))
  child.stderr.on('data', (d: Buffer) => err.push(d))
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') {
        reject(new TsbuildError('MISSING_DEPENDENCY', 'getfattr is not installed; tsbuild needs it to read file xattrs for layers', { hint: 'apt-get install attr' }))
      } else reject(e)
    })
    child.on('close', resolve)
  })
  if (code !== 0) throw new TsbuildError('IO', `getfattr ${root} failed (exit ${code}): ${Buffer.concat(err).toString().trim()}`)
  return parseGetfattrDump(Buffer.concat(out).toString('latin1'), root)
}

/** Parse `getfattr -d -e hex --absolute-names` output (exported for tests). */
export function parseGetfattrDump (text: string, root: string): XattrTable {
  const table: XattrTable = new Map()
  let current: Map<string, Buffer> | undefined
  for (const line of text.split('\n')) {
    if (line.startsWith('# file: ')) {
      const abs = Buffer.from(unescapeGetfattrName(line.slice('# file: '.length)), 'latin1').toString('utf8')
      current = new Map()
      table.set(relative(root, abs), current)
      continue
    }
    const eq = line.indexOf('=')
    if (current === undefined || eq <= 0) continue
    const key = line.slice(0, eq)
    const value = line.slice(eq + 1)
    current.set(key, value.startsWith('0x') ? Buffer.from(value.slice(2), 'hex') : Buffer.from(value.replace(/^"|"$/g, ''), 'latin1'))
  }
  for (const [k, v] of table) if (v.size === 0) table.delete(k)
  return table
}

/** getfattr writes unprintable bytes in file names as `\ooo` and a backslash as `\\`. */
function unescapeGetfattrName (s: string): string {
  return s.replace(/\\([0-7]{3}|\\)/g, (_m, g: string) => (g === '\\' ? '\\' : String.fromCharCode(parseInt(g, 8))))
}
