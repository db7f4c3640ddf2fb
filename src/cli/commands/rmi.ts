import { ImageStore, resolveStateDir } from '../../cache/index.js'
import { TsbuildError, findTsbuildError } from '../../common/errors.js'
import type { CommandIo } from '../io.js'

const USAGE = 'usage: tsbuild rmi NAME...'

/**
 * `tsbuild rmi`: drop image names. Blobs stay until garbage collection, so
 * another name for the same image keeps working. Every name is tried; the
 * exit code is 1 when any was unknown.
 */
export async function run (args: string[], io: CommandIo): Promise<number> {
  if (args.includes('-h') || args.includes('--help')) { io.stdout.write(USAGE + '\n'); return 0 }
  const flag = args.find((a) => a.startsWith('-'))
  if (flag !== undefined) throw new TsbuildError('USAGE', `unknown flag ${flag}`, { hint: USAGE })
  if (args.length === 0) throw new TsbuildError('USAGE', 'rmi needs at least one image name', { hint: USAGE })
  const images = await ImageStore.open(resolveStateDir(io.env))
  let failed = false
  for (const name of args) {
    try {
      const removed = await images.remove(name)
      io.stdout.write(`Untagged: ${removed.name}@${removed.descriptor.digest}\n`)
    } catch (err) {
      const t = findTsbuildError(err)
      if (t === undefined) throw err
      io.stderr.write(`ERROR: ${t.message}\n`)
      failed = true
    }
  }
  return failed ? 1 : 0
}
