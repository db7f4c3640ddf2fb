import { ImageStore, LocalContentStore, isIndexDescriptor, listManifests, readImageConfig, readIndex, resolveManifest, resolveStateDir } from '../../cache/index.js'
import type { ResolvedManifest } from '../../cache/index.js'
import { TsbuildError } from '../../common/errors.js'
import { formatPlatform, parsePlatform } from '../../common/platform.js'
import type { Platform } from '../../common/platform.js'
import type { CommandIo } from '../io.js'

const USAGE = 'usage: tsbuild inspect IMAGE [--platform os/arch[/variant]]  (IMAGE: a name, name@sha256:…, or an image ID)'

/**
 * `tsbuild inspect`: the image's root descriptor, its index (when
 * multi-platform) and, per platform, the manifest and config, as JSON.
 * `--platform` narrows the output to one platform.
 */
export async function run (args: string[], io: CommandIo): Promise<number> {
  let platform: Platform | undefined
  const names: string[] = []
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!
    if (a === '-h' || a === '--help') { io.stdout.write(USAGE + '\n'); return 0 }
    if (a === '--platform' || a.startsWith('--platform=')) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : args[++i]
      if (v === undefined) throw new TsbuildError('USAGE', '--platform needs a value', { hint: USAGE })
      platform = parsePlatform(v)
      continue
    }
    if (a.startsWith('-')) throw new TsbuildError('USAGE', `unknown flag ${a}`, { hint: USAGE })
    names.push(a)
  }
  if (names.length !== 1) throw new TsbuildError('USAGE', `inspect takes one image name, got ${names.length}`, { hint: USAGE })
  const root = resolveStateDir(io.env)
  const images = await ImageStore.open(root)
  const content = new LocalContentStore(root)
  const image = await images.get(names[0]!)
  const chosen: ResolvedManifest[] = platform === undefined
    ? await listManifests(content, image.descriptor)
    : [await resolveManifest(content, image.descriptor, { platform, imageName: image.name })]
  const out = {
    name: image.name,
    descriptor: image.descriptor,
    ...(isIndexDescriptor(image.descriptor) ? { index: await readIndex(content, image.descriptor) } : {}),
    images: await Promise.all(chosen.map(async (m) => ({
      platform: formatPlatform(m.platform),
      descriptor: m.descriptor,
      manifest: m.manifest,
      config: await readImageConfig(content, m.manifest),
    }))),
  }
  io.stdout.write(JSON.stringify(out, null, 2) + '\n')
  return 0
}
