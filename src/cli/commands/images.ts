import { ImageStore, LocalContentStore, imageSize, listPlatforms, resolveStateDir } from '../../cache/index.js'
import type { StoredImage } from '../../cache/index.js'
import { TsbuildError } from '../../common/errors.js'
import { formatPlatform } from '../../common/platform.js'
import type { CommandIo } from '../io.js'

const USAGE = 'usage: tsbuild images [--format table|json]'

interface ImageRow { name: string; digest: string; mediaType: string; platforms: string[]; size: number | null }

/** `tsbuild images`: the named images in the state dir. */
export async function run (args: string[], io: CommandIo): Promise<number> {
  let format = 'table'
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!
    if (a === '-h' || a === '--help') { io.stdout.write(USAGE + '\n'); return 0 }
    if (a === '--format' || a.startsWith('--format=')) {
      format = a.includes('=') ? a.slice(a.indexOf('=') + 1) : (args[++i] ?? '')
      if (format !== 'table' && format !== 'json') throw new TsbuildError('USAGE', `--format must be table or json, not ${JSON.stringify(format)}`)
      continue
    }
    throw new TsbuildError('USAGE', `unexpected argument ${JSON.stringify(a)}`, { hint: USAGE })
  }
  const root = resolveStateDir(io.env)
  const images = await ImageStore.open(root)
  const content = new LocalContentStore(root)
  const rows: ImageRow[] = []
  for (const image of await images.list()) rows.push(await describe(image, content))
  if (format === 'json') {
    io.stdout.write(JSON.stringify(rows, null, 2) + '\n')
    return 0
  }
  const table = [['NAME', 'DIGEST', 'PLATFORMS', 'SIZE'], ...rows.map((r) => [
    displayName(r.name), r.digest.slice('sha256:'.length, 'sha256:'.length + 12), r.platforms.join(',') || '?', r.size === null ? '?' : humanSize(r.size),
  ])]
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)))
  for (const row of table) io.stdout.write(row.map((cell, c) => c === row.length - 1 ? cell : cell.padEnd(widths[c]! + 3)).join('') + '\n')
  return 0
}

// A listing must not fail because one image lost a blob; it shows "?" instead.
async function describe (image: StoredImage, content: LocalContentStore): Promise<ImageRow> {
  const d = image.descriptor
  const [platforms, size] = await Promise.all([
    listPlatforms(content, d).then((ps) => ps.map(formatPlatform), () => []),
    imageSize(content, d).catch(() => null),
  ])
  return { name: image.name, digest: d.digest, mediaType: d.mediaType, platforms, size }
}

export function displayName (fullName: string): string {
  if (fullName.startsWith('docker.io/library/')) return fullName.slice('docker.io/library/'.length)
  if (fullName.startsWith('docker.io/')) return fullName.slice('docker.io/'.length)
  return fullName
}

/** Decimal units, as `docker images` prints them. */
export function humanSize (bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB']
  let v = bytes
  let u = 0
  while (v >= 1000 && u < units.length - 1) { v /= 1000; u++ }
  return u === 0 ? `${v}B` : `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)}${units[u]}`
}
