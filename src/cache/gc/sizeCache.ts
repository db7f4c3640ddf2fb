import { randomBytes } from 'node:crypto'
import { lstat, mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * Sizes of committed snapshots, remembered in `<stateDir>/gc/sizes.json`:
 * a committed snapshot never changes, so its tree is walked once, which
 * keeps the collection after every build cheap.
 */
export class SizeCache {
  private dirty = false

  private constructor (private readonly file: string, private readonly sizes: Map<string, number>) {}

  static async open (root: string): Promise<SizeCache> {
    const file = join(root, 'gc', 'sizes.json')
    let sizes = new Map<string, number>()
    try { sizes = new Map(Object.entries(JSON.parse(await readFile(file, 'utf8')) as Record<string, number>)) } catch { /* first use */ }
    return new SizeCache(file, sizes)
  }

  async sizeOf (id: string, dir: string): Promise<number> {
    const known = this.sizes.get(id)
    if (known !== undefined) return known
    const size = await treeSize(dir)
    this.sizes.set(id, size)
    this.dirty = true
    return size
  }

  /** Drop remembered sizes of snapshots that no longer exist. */
  retainOnly (ids: ReadonlySet<string>): void {
    for (const id of this.sizes.keys()) if (!ids.has(id)) { this.sizes.delete(id); this.dirty = true }
  }

  forget (id: string): void {
    if (this.sizes.delete(id)) this.dirty = true
  }

  async save (): Promise<void> {
    if (!this.dirty) return
    await mkdir(join(this.file, '..'), { recursive: true })
    const tmp = `${this.file}.${process.pid}-${randomBytes(4).toString('hex')}`
    await writeFile(tmp, JSON.stringify(Object.fromEntries(this.sizes)))
    await rename(tmp, this.file)
    this.dirty = false
  }
}

/**
 * Apparent size of a tree, every entry (directories included) counted once
 * per inode: the number `du -sb` prints for the same directory.
 */
export async function treeSize (dir: string, seen: Set<string> = new Set()): Promise<number> {
  const st = await lstat(dir).catch(() => undefined)
  if (st === undefined) return 0
  const ino = `${st.dev}:${st.ino}`
  if (seen.has(ino)) return 0
  seen.add(ino)
  if (!st.isDirectory()) return st.size
  let total = st.size
  const names = await readdir(dir).catch(() => [] as string[])
  // Siblings at once: one lstat after another made a 30,000-file layer take a second to size.
  for (const size of await Promise.all(names.map(async (n) => await treeSize(join(dir, n), seen)))) total += size
  return total
}
