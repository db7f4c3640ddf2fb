import { relative } from 'node:path'
import { runTool } from './helperShell.js'

/** Extended attributes by path relative to the walked root ('' is the root itself). */
export type XattrTable = Map<string, Map<string, Buffer>>

/**
 * Read every extended attribute under `root` with one `getfattr -R` run
 * (Node has no xattr API, and one process per tree costs far less than one
 * per file). Values come hex-encoded, so binary ones survive intact; files
 * without attributes are simply absent from the table.
 */
export async function readXattrTree (root: string): Promise<XattrTable> {
  const out = await runTool('getfattr', ['--absolute-names', '-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '--', root])
  return parseGetfattrDump(out.toString('latin1'), root)
}

/** Overlay's own attributes: they describe the snapshot, never a file of the image. */
export const OVERLAY_XATTR = /^(trusted|user)\.overlay\./

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
