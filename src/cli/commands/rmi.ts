import { ImageStore, resolveStateDir } from '../../cache/index.js'
import { TsbuildError, findTsbuildError } from '../../common/errors.js'
import type { CommandIo } from '../io.js'

const USAGE = 'usage: tsbuild rmi [-f|--force] IMAGE...  (IMAGE: a name, name@sha256:…, or an image ID)'

/**
 * `tsbuild rmi`: drop image names. Blobs stay until garbage collection, so
 * another name for the same image keeps working. A name removes that name;
 * `name@sha256:…` every name of that repository at the digest; an image ID
 * (digest or prefix) every name of the image, which needs --force when there
 * are several, as in docker. Every argument is tried; the exit code is 1 when
 * any failed.
 */
export async function run (args: string[], io: CommandIo): Promise<number> {
  if (args.includes('-h') || args.includes('--help')) { io.stdout.write(USAGE + '\n'); return 0 }
  let force = false
  const refs: string[] = []
  for (const a of args) {
    if (a === '-f' || a === '--force') force = true
    else if (a.startsWith('-')) throw new TsbuildError('USAGE', `unknown flag ${a}`, { hint: USAGE })
    else refs.push(a)
  }
  if (refs.length === 0) throw new TsbuildError('USAGE', 'rmi needs at least one image name', { hint: USAGE })
  const images = await ImageStore.open(resolveStateDir(io.env))
  let failed = false
  for (const ref of refs) {
    try {
      for (const removed of await images.remove(ref, { force })) {
        io.stdout.write(`Untagged: ${removed.name}@${removed.descriptor.digest}\n`)
      }
    } catch (err) {
      const t = findTsbuildError(err)
      if (t === undefined) throw err
      io.stderr.write(`ERROR: ${t.message}\n`)
      if (t.hint !== undefined) io.stderr.write(`hint: ${t.hint}\n`)
      failed = true
    }
  }
  return failed ? 1 : 0
}
