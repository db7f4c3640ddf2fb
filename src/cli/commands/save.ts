import { resolve } from 'node:path'
import { ImageStore, originOf, LocalContentStore, isIndexDescriptor, resolveManifest, resolveStateDir } from '../../cache/index.js'
import { ensureFileDest, fsError, isFsError, type FsPurpose } from '../../common/ensureDir.js'
import { TsbuildError } from '../../common/errors.js'
import { parsePlatform } from '../../common/platform.js'
import { writeDockerArchive, writeOciArchive } from '../../exporter/index.js'
import { getBool, getString, parseArgs, type FlagSpec } from '../flags/parseArgs.js'
import type { CommandIo } from '../io.js'
import { displayName } from './images.js'

const USAGE = 'usage: tsbuild save [--format docker|oci] [--platform os/arch[/variant]] -o FILE IMAGE  (IMAGE: a name, name@sha256:…, or an image ID)'

const SPECS: FlagSpec[] = [
  { long: 'output', short: 'o', kind: 'string' },
  { long: 'format', kind: 'string' },
  { long: 'platform', kind: 'string' },
  { long: 'help', short: 'h', kind: 'bool' },
]

/**
 * `tsbuild save`: a stored image as a tar archive. `docker` (the default) is
 * what `docker load`/`podman load` read and holds one platform (the host's,
 * or --platform, for a multi-platform image); `oci` is an OCI image layout
 * with every platform. `-o -`, or no -o with stdout not a terminal, writes
 * the archive to stdout.
 */
export async function run (args: string[], io: CommandIo): Promise<number> {
  const p = parseArgs(args, SPECS, 'save')
  if (getBool(p, 'help')) { io.stdout.write(USAGE + '\n'); return 0 }
  if (p.positionals.length !== 1) throw new TsbuildError('USAGE', `save takes one image name, got ${p.positionals.length}`, { hint: USAGE })
  const format = getString(p, 'format') ?? 'docker'
  if (format !== 'docker' && format !== 'oci') throw new TsbuildError('USAGE', `--format must be docker or oci, not ${JSON.stringify(format)}`, { hint: USAGE })
  let dest = getString(p, 'output')
  if (dest === undefined) {
    if (io.stdout.isTTY === true) throw new TsbuildError('USAGE', 'refusing to write an image archive to a terminal: give -o FILE (or -o - and redirect)', { hint: USAGE })
    dest = '-'
  }
  const root = resolveStateDir(io.env)
  const images = await ImageStore.open(root)
  const content = new LocalContentStore(root)
  const match = await images.resolve(p.positionals[0]!)
  const stored = match?.images[0] ?? await images.get(p.positionals[0]!) // get throws the not-found error
  // The archive records the tag the user named; an image asked for by digest or ID has none (docker save does the same).
  const names = match?.by === 'name' && !stored.name.includes('@') ? [displayName(stored.name)] : []
  // A destination that cannot be written fails before any blob is read.
  if (dest !== '-') await ensureFileDest(dest, SAVE_PURPOSE)
  const { mediaType, digest, size } = stored.descriptor
  // A --push build may have left layers in the registry (where its name points): the archive needs their bytes.
  const { RegistryClient, dockerConfigCredentials } = await import('../../registry/index.js')
  const { fetchMissingBlobs } = await import('../../solver/images/index.js')
  const client = new RegistryClient({ auth: dockerConfigCredentials({ env: io.env }) })
  await fetchMissingBlobs(content, { mediaType, digest, size }, displayName(stored.name), originOf(stored), client, io.signal)
  const out = { names, mtime: 0, ...(dest === '-' ? { stdout: io.stdout } : {}) }
  if (format === 'oci') {
    if (getString(p, 'platform') !== undefined) throw new TsbuildError('USAGE', '--platform applies to --format docker; an OCI archive holds every platform')
    return await readerMayLeave(writeOciArchive(content, { mediaType, digest, size }, dest, out), dest)
  }
  const platformFlag = getString(p, 'platform')
  const manifest = isIndexDescriptor(stored.descriptor) || platformFlag !== undefined
    ? (await resolveManifest(content, stored.descriptor, { imageName: displayName(stored.name), ...(platformFlag !== undefined ? { platform: parsePlatform(platformFlag) } : {}) })).descriptor
    : { mediaType, digest, size }
  return await readerMayLeave(writeDockerArchive(content, manifest, dest, out), dest)
}

/** `tsbuild save … | head -c N`: a reader that stops early has what it wanted; that is not an error. */
async function readerMayLeave (writing: Promise<unknown>, dest: string): Promise<number> {
  try {
    await writing
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED') return 0
    if (isFsError(err) && isDestinationError(err, dest)) {
      const context = err.path !== undefined && resolve(err.path) !== resolve(dest) ? `${err.syscall ?? 'write'} ${err.path}` : undefined
      throw fsError(err, dest === '-' ? 'stdout' : resolve(dest), SAVE_PURPOSE, context)
    }
    throw err
  }
  return 0
}

const SAVE_PURPOSE: FsPurpose = { what: 'save -o' }

/**
 * A filesystem error of the archive being written (its temp file beside
 * `dest`, or the write stream, which names no path: a full disk there is the
 * destination's), not of a blob read from the state dir.
 */
function isDestinationError (err: NodeJS.ErrnoException, dest: string): boolean {
  if (err.path === undefined) return err.code === 'ENOSPC' || err.code === 'EDQUOT' || dest !== '-'
  return dest !== '-' && resolve(err.path).startsWith(resolve(dest))
}
