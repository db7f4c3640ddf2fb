import { ImageStore, LocalContentStore, originOf, resolveStateDir } from '../../cache/index.js'
import { TsbuildError } from '../../common/errors.js'
import { exportToRegistry } from '../../exporter/index.js'
import { RegistryClient, dockerConfigCredentials, familiarName, parseReference } from '../../registry/index.js'
import { getBool, getList, parseArgs, type FlagSpec } from '../flags/parseArgs.js'
import type { CommandIo } from '../io.js'
import { ANNOTATION_PULLED_FROM } from './pull.js'

const USAGE = 'usage: tsbuild push [--insecure-registry HOST] [-q] NAME [DEST]'

const SPECS: FlagSpec[] = [
  { long: 'insecure-registry', kind: 'list' },
  { long: 'quiet', short: 'q', kind: 'bool' },
  { long: 'help', short: 'h', kind: 'bool' },
]

/**
 * `tsbuild push`: a stored image (one manifest, or an index with every
 * platform) to the registry its name points at, or to DEST. Blobs the
 * repository has are skipped; blobs of an image pulled from another
 * repository of the same registry are mounted rather than uploaded.
 * Prints the pushed digest.
 */
export async function run (args: string[], io: CommandIo): Promise<number> {
  const p = parseArgs(args, SPECS, 'push')
  if (getBool(p, 'help')) { io.stdout.write(USAGE + '\n'); return 0 }
  if (p.positionals.length < 1 || p.positionals.length > 2) throw new TsbuildError('USAGE', `push takes NAME [DEST], got ${p.positionals.length} arguments`, { hint: USAGE })
  const [name, dest] = p.positionals as [string, string?]
  const root = resolveStateDir(io.env)
  const images = await ImageStore.open(root)
  const content = new LocalContentStore(root)
  const stored = await images.get(name)
  const target = parseReference(dest ?? stored.name)
  const client = new RegistryClient({ auth: dockerConfigCredentials({ env: io.env }), insecureRegistries: getList(p, 'insecure-registry') })
  const pulledFrom = stored.descriptor.annotations?.[ANNOTATION_PULLED_FROM]
  const { fetchStoredLayer } = await import('../../solver/images/index.js')
  const { mediaType, digest, size } = stored.descriptor
  await exportToRegistry({ mediaType, digest, size }, {
    store: content,
    client,
    names: [dest ?? stored.name],
    sources: [...(pulledFrom !== undefined ? [pulledFrom] : []), stored.name],
    // Layers a --push build left in the registry are fetched from the image's name, only if the target lacks them.
    beforeUpload: async (desc) => { if ((await content.info(desc.digest))?.size !== desc.size) await fetchStoredLayer(client, originOf(stored), desc, content, familiarName(parseReference(stored.name)), io.signal) },
    ...(io.signal !== undefined ? { signal: io.signal } : {}),
  })
  io.stdout.write(getBool(p, 'quiet') ? `${digest}\n` : `${familiarName(target)}: digest: ${digest} size: ${size}\n`)
  return 0
}
