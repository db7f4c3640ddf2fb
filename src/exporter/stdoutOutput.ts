import { createReadStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { TsbuildError } from '../common/errors.js'
import { parseOutputSpec, withOutputDest } from './outputSpec.js'

/** `-o` specs with a `dest=-` output sent through a temp file, and what to do with that file after the build. */
export interface StdoutOutput {
  /** The specs to build with (`dest=-` replaced by the temp file). */
  outputs: string[]
  /** True when one output is stdout: nothing else may be written there. */
  isStdout: boolean
  /** Names a reported output the way the user gave it: the temp file back to `-`. */
  shown: (text: string) => string
  /** After a successful build: copy the archive to stdout, then remove the temp file. */
  flush: (stdout: NodeJS.WritableStream) => Promise<void>
  /** After a failed build: remove the temp file; stdout stays empty. */
  discard: () => Promise<void>
}

/**
 * buildx's `-o -` and `dest=-` write the archive to stdout. tsbuild writes it
 * to a private temp file and copies it to stdout once the build succeeded, so
 * a failed build leaves stdout empty rather than holding half an archive.
 * A terminal is refused before anything is built: a tar is not for reading.
 */
export async function prepareStdoutOutput (outputs: readonly string[], stdout: { isTTY?: boolean }): Promise<StdoutOutput> {
  const toStdout = outputs.filter((o) => { const s = parseOutputSpec(o); return 'dest' in s && s.dest === '-' })
  if (toStdout.length === 0) return { outputs: [...outputs], isStdout: false, shown: (t) => t, flush: async () => {}, discard: async () => {} }
  if (toStdout.length > 1) throw new TsbuildError('USAGE', `only one output can write to stdout (dest=-), got ${toStdout.length}: ${toStdout.join(' and ')}`)
  if (stdout.isTTY === true) {
    throw new TsbuildError('USAGE', `refusing to write the ${JSON.stringify(toStdout[0])} archive to a terminal`, { hint: 'redirect stdout (tsbuild build -o - . > out.tar) or give a file: dest=out.tar' })
  }
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-stdout-'))
  const file = join(dir, 'output.tar')
  const discard = async (): Promise<void> => { await rm(dir, { recursive: true, force: true }) }
  return {
    outputs: outputs.map((o) => (o === toStdout[0] ? withOutputDest(o, file) : o)),
    isStdout: true,
    shown: (t) => t.split(file).join('-'),
    discard,
    flush: async (out) => {
      try {
        await pipeline(createReadStream(file), out, { end: false })
      } catch (err) {
        // The reader went away (`| head -c …`): what it wanted it has; not a build failure.
        if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err
      } finally {
        await discard()
      }
    },
  }
}
