import { collectGarbage, formatSize, parseSize } from '../../cache/gc/index.js'
import { TsbuildError } from '../../common/errors.js'
import { CacheMountManager } from '../../solver/mounts/index.js'
import { getBool, getList, getString, parseArgs, type FlagSpec } from '../flags/parseArgs.js'
import type { CommandIo } from '../io.js'
import { stateDirFor } from '../stateDir.js'

const USAGE = `usage: tsbuild prune [--all] [--filter until=DURATION] [--keep-storage SIZE] [--verbose] [-f]

Remove build cache: cache records and the snapshots and blobs only they keep
alive. Stored (tagged) images are never removed, nor anything a running build
uses. --all also removes cache mounts (RUN --mount=type=cache).
  --filter until=24h     only cache unused for at least this long (s, m, h, d)
  --keep-storage 5GB     stop once the cache is this small
  -f, --force            do not ask for confirmation
`

const FLAGS: FlagSpec[] = [
  { long: 'all', short: 'a', kind: 'bool' },
  { long: 'filter', kind: 'list' },
  { long: 'keep-storage', kind: 'string' },
  { long: 'force', short: 'f', kind: 'bool' },
  { long: 'verbose', short: 'v', kind: 'bool' },
  { long: 'help', short: 'h', kind: 'bool' },
]

export async function run (args: string[], io: CommandIo): Promise<number> {
  const p = parseArgs(args, FLAGS, 'prune')
  if (getBool(p, 'help')) { io.stdout.write(USAGE); return 0 }
  if (p.positionals.length > 0) throw new TsbuildError('USAGE', `prune takes no arguments, got ${JSON.stringify(p.positionals[0])}`, { hint: USAGE.split('\n')[0] })
  let olderThanMs: number | undefined
  for (const f of getList(p, 'filter')) {
    const m = /^until=(.*)$/.exec(f)
    if (m === null) throw new TsbuildError('USAGE', `unsupported filter ${JSON.stringify(f)}: only until=DURATION is supported`)
    olderThanMs = parseDuration(m[1]!)
  }
  const keep = getString(p, 'keep-storage')
  const targetBytes = keep !== undefined ? parseSize(keep, '--keep-storage') : undefined
  const all = getBool(p, 'all')
  if (!getBool(p, 'force')) {
    io.stderr.write(`WARNING! This will remove all ${all ? 'build cache and cache mounts' : 'build cache'}${olderThanMs !== undefined ? ' unused for that long' : ''}.\nAre you sure you want to continue? [y/N] `)
    // Declining is not a failure: buildx and docker exit 0 there too.
    if (!/^y(es)?$/i.test((await readLine(io)).trim())) { io.stderr.write('\n'); return 0 }
  }
  const root = stateDirFor(io)
  const report = await collectGarbage(root, {
    mode: 'all', includeCacheMounts: all, orphanGraceMs: 0, cacheMounts: new CacheMountManager(root),
    ...(olderThanMs !== undefined ? { olderThanMs } : {}), ...(targetBytes !== undefined ? { targetBytes } : {}),
  })
  if (getBool(p, 'verbose')) {
    for (const r of report.records) io.stdout.write(`deleted record ${r.key.slice(7, 19)}\t${r.description ?? ''}\n`)
    for (const m of report.cacheMounts) io.stdout.write(`deleted cache mount ${m}\n`)
  }
  io.stdout.write(`Deleted ${report.records.length} cache records, ${report.snapshots.length} snapshots, ${report.blobs.length} blobs` +
    `${all ? `, ${report.cacheMounts.length} cache mounts` : ''}\nTotal:\t${formatSize(report.reclaimedBytes)} reclaimed\n`)
  return 0
}

/** Go-style durations (`24h`, `1h30m`, `90s`) plus days (`7d`). */
export function parseDuration (text: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)]
  if (parts.length === 0 || parts.map((x) => x[0]).join('') !== text) {
    throw new TsbuildError('USAGE', `invalid duration ${JSON.stringify(text)} in --filter until=: expected e.g. 24h, 30m or 7d`)
  }
  return parts.reduce((t, x) => t + Number(x[1]) * units[x[2]!]!, 0)
}

async function readLine (io: CommandIo): Promise<string> {
  return await new Promise((resolve) => {
    let buf = ''
    const done = (): void => { io.stdin.off('data', onData); io.stdin.off('end', done); io.stdin.pause(); resolve(buf) }
    const onData = (c: Buffer | string): void => { buf += c.toString(); if (buf.includes('\n')) done() }
    io.stdin.on('data', onData).once('end', done)
  })
}
