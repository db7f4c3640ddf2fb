import { ImageStore, parseImageName, resolveStateDir } from '../../cache/index.js'
import { TsbuildError } from '../../common/errors.js'
import type { CommandIo } from '../io.js'

const USAGE = 'usage: tsbuild tag SOURCE TARGET  (SOURCE: a name, name@sha256:…, or an image ID; TARGET: name[:tag])'

/** `tsbuild tag`: give a stored image another name. A digest is what an image is, not a name it can be given. */
export async function run (args: string[], io: CommandIo): Promise<number> {
  if (args.includes('-h') || args.includes('--help')) { io.stdout.write(USAGE + '\n'); return 0 }
  const flag = args.find((a) => a.startsWith('-'))
  if (flag !== undefined) throw new TsbuildError('USAGE', `unknown flag ${flag}`, { hint: USAGE })
  if (args.length !== 2) throw new TsbuildError('USAGE', `tag takes 2 arguments, got ${args.length}`, { hint: USAGE })
  if (parseImageName(args[1]!).digest !== undefined) {
    throw new TsbuildError('INVALID_REFERENCE', `refusing to create a tag with a digest reference: ${args[1]!}`, { hint: 'give the target as name[:tag]' })
  }
  const images = await ImageStore.open(resolveStateDir(io.env))
  await images.tag(args[0]!, args[1]!)
  return 0
}
