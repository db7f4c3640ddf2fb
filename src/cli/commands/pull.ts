import { ANNOTATION_PULLED_FROM, ImageStore, LocalContentStore, resolveStateDir } from '../../cache/index.js'
import { TsbuildError } from '../../common/errors.js'
import type { Descriptor } from '../../common/oci.js'
import { hostPlatform, parsePlatform } from '../../common/platform.js'
import { RegistryClient, dockerConfigCredentials, familiarName, formatReference, parseReference, withDigest } from '../../registry/index.js'
import { getBool, getList, getString, parseArgs, type FlagSpec } from '../flags/parseArgs.js'
import type { CommandIo } from '../io.js'

const USAGE = 'usage: tsbuild pull [--platform os/arch[/variant]] [--insecure-registry HOST] [-q] NAME[:TAG|@DIGEST]'

const SPECS: FlagSpec[] = [
  { long: 'platform', kind: 'string' },
  { long: 'insecure-registry', kind: 'list' },
  { long: 'quiet', short: 'q', kind: 'bool' },
  { long: 'help', short: 'h', kind: 'bool' },
]

export { ANNOTATION_PULLED_FROM }

/**
 * `tsbuild pull`: one platform of an image (the host's unless --platform)
 * from its registry into the local store, named as given. Like docker, a
 * multi-platform image is stored as the chosen platform's manifest.
 */
export async function run (args: string[], io: CommandIo): Promise<number> {
  const p = parseArgs(args, SPECS, 'pull')
  if (getBool(p, 'help')) { io.stdout.write(USAGE + '\n'); return 0 }
  if (p.positionals.length !== 1) throw new TsbuildError('USAGE', `pull takes one image name, got ${p.positionals.length}`, { hint: USAGE })
  const platformFlag = getString(p, 'platform')
  const platform = platformFlag !== undefined ? parsePlatform(platformFlag) : hostPlatform()
  const ref = parseReference(p.positionals[0]!)
  const root = resolveStateDir(io.env)
  const images = await ImageStore.open(root)
  const content = new LocalContentStore(root)
  const client = new RegistryClient({ auth: dockerConfigCredentials({ env: io.env }), insecureRegistries: getList(p, 'insecure-registry') })
  const pulled = await client.pullImage(ref, platform, content, io.signal !== undefined ? { signal: io.signal } : {})
  const c = pulled.config
  const manifest: Descriptor = {
    mediaType: pulled.manifestDescriptor.mediaType,
    digest: pulled.manifestDescriptor.digest,
    size: pulled.manifestDescriptor.size,
    platform: pulled.manifestDescriptor.platform ?? { os: c.os, architecture: c.architecture, ...(c.variant !== undefined ? { variant: c.variant } : {}) },
    annotations: { [ANNOTATION_PULLED_FROM]: formatReference(withDigest(ref, pulled.descriptor.digest)) },
  }
  const stored = await images.put(formatReference(ref), manifest)
  if (!getBool(p, 'quiet')) {
    io.stdout.write(`Digest: ${pulled.descriptor.digest}\n`)
    io.stdout.write(`Status: Downloaded ${familiarName(ref)} (${pulled.manifest.layers.length} layers) for ${manifest.platform!.os}/${manifest.platform!.architecture}${manifest.platform!.variant !== undefined ? '/' + manifest.platform!.variant : ''}\n`)
  }
  io.stdout.write(`${stored.name}\n`)
  return 0
}
