import { formatSize, loadGcPolicy, summarizeUsage, takeInventory, treeSize } from '../../cache/gc/index.js'
import { CacheMountManager } from '../../solver/mounts/index.js'
import { getBool, getString, parseArgs, type FlagSpec } from '../flags/parseArgs.js'
import { TsbuildError } from '../../common/errors.js'
import type { CommandIo } from '../io.js'
import { stateDirFor } from '../stateDir.js'

const USAGE = `usage: tsbuild du [--verbose] [--format table|json]

Disk usage of the build cache: cache records, snapshots, blobs and cache
mounts. Shared items are counted once; RECLAIMABLE is what \`tsbuild prune --all\`
would free now (never blobs of stored images, nor what a running build uses).
`

const FLAGS: FlagSpec[] = [
  { long: 'verbose', short: 'v', kind: 'bool' },
  { long: 'format', kind: 'string' },
  { long: 'help', short: 'h', kind: 'bool' },
]

export async function run (args: string[], io: CommandIo): Promise<number> {
  const p = parseArgs(args, FLAGS, 'du')
  if (getBool(p, 'help')) { io.stdout.write(USAGE); return 0 }
  if (p.positionals.length > 0) throw new TsbuildError('USAGE', `du takes no arguments, got ${JSON.stringify(p.positionals[0])}`, { hint: USAGE.split('\n')[0] })
  const format = getString(p, 'format') ?? 'table'
  if (format !== 'table' && format !== 'json') throw new TsbuildError('USAGE', `--format must be table or json, not ${JSON.stringify(format)}`)
  const root = stateDirFor(io)
  const inv = await takeInventory(root, { cacheMounts: new CacheMountManager(root) })
  const usage = summarizeUsage(inv)
  const policy = await loadGcPolicy(root, io.env)
  const onDisk = await treeSize(root)
  if (format === 'json') {
    io.stdout.write(JSON.stringify({ ...usage, stateDir: root, onDisk, gc: policy }, null, 2) + '\n')
    return 0
  }
  if (getBool(p, 'verbose')) {
    // As buildx: each record's own layer, and whether another record has the same one.
    const rows = usage.perRecord.map((r) => [
      r.key.slice(7, 19), shorten(r.description ?? '', STEP_WIDTH), formatSize(r.size), String(r.isShared), ago(r.lastUsedMs),
    ])
    table(io, [['ID', 'STEP', 'SIZE', 'SHARED', 'LAST USED'], ...rows])
    io.stdout.write('\n')
    if (inv.cacheMounts.length > 0) {
      table(io, [['CACHE MOUNT', 'SIZE', 'LAST USED'], ...inv.cacheMounts.map((m) => [m.id, formatSize(m.size), ago(m.lastUsedMs)])])
      io.stdout.write('\n')
    }
  }
  const s = usage
  table(io, [
    ['TYPE', 'COUNT', 'SIZE', 'RECLAIMABLE', ''],
    ['records', String(s.records.count), formatSize(s.records.size), formatSize(s.records.reclaimable), ''],
    ['snapshots', String(s.snapshots.count), formatSize(s.snapshots.size), formatSize(s.snapshots.reclaimable),
      s.snapshots.shared > 0 ? `${s.snapshots.shared} shared by several records (${formatSize(s.snapshots.sharedSize)}, counted once)` : ''],
    ['blobs', String(s.blobs.count), formatSize(s.blobs.size), formatSize(s.blobs.reclaimable),
      s.blobs.inUseByImages > 0 ? `${formatSize(s.blobs.inUseByImages)} in use by stored images` : ''],
    ['cache mounts', String(s.cacheMounts.count), formatSize(s.cacheMounts.size), formatSize(s.cacheMounts.reclaimable), ''],
  ])
  io.stdout.write(`\nReclaimable:\t${formatSize(s.reclaimable)}\nTotal:\t\t${formatSize(s.total)}\n`)
  io.stdout.write(`State dir:\t${formatSize(onDisk)} on disk (${root})\n`)
  const why = policy.source === 'env' ? 'TSBUILD_GC_MAX_STORAGE' : policy.source === 'config' ? 'config.json' : 'default: 10% of the disk, at most 20GB'
  io.stdout.write(`Build cache:\t${formatSize(s.cacheTotal)} of a ${formatSize(policy.maxStorage)} cap (${why}; stored images do not count)\n`)
  return 0
}

/** A step's description is cut here, so one long RUN line does not push every row past the terminal. */
const STEP_WIDTH = 60

function shorten (text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`
}

function table (io: CommandIo, rows: string[][]): void {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)))
  for (const row of rows) io.stdout.write(row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]! + 3))).join('').trimEnd() + '\n')
}

function ago (ms: number): string {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000))
  if (s < 60) return `${s} seconds ago`
  if (s < 3600) return `${Math.round(s / 60)} minutes ago`
  if (s < 86400) return `${Math.round(s / 3600)} hours ago`
  return `${Math.round(s / 86400)} days ago`
}
