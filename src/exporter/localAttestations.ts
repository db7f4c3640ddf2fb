import { createHash, randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { readdir, rename, rm, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { TsbuildError } from '../common/errors.js'
import type { Platform } from '../common/platform.js'
import type { AttestationSource } from './attestationManifest.js'
import type { InTotoSubject } from './provenance.js'

/** The file a local or tar output gets for its provenance, as BuildKit names it. */
export const PROVENANCE_FILE = 'provenance.json'

/**
 * Write the attestations of one platform's root filesystem beside it, as
 * BuildKit's local exporter does: the subjects are every regular file of the
 * output (path relative to its root, sha256 of the content), the statement is
 * indented JSON with mode 0600, dated SOURCE_DATE_EPOCH when it is set.
 */
export async function writeLocalAttestations (root: string, source: AttestationSource, platform: Platform, sourceDateEpoch?: number): Promise<void> {
  const subjects: InTotoSubject[] = []
  for (const path of await regularFiles(root, '')) {
    const hash = createHash('sha256')
    for await (const chunk of createReadStream(join(root, path))) hash.update(chunk as Buffer)
    subjects.push({ name: path, digest: { sha256: hash.digest('hex') } })
  }
  const statements = source.statements(platform, subjects)
  if (statements.length > 1) throw new Error('one attestation file per output is written: provenance.json')
  for (const statement of statements) {
    const file = join(root, PROVENANCE_FILE)
    // The output is the image's content: its own provenance.json may be a
    // symlink to a host path (tsbuild runs as root). Write a new file beside
    // it and rename it over the name, which replaces a link, never its target.
    const temp = join(root, `.${PROVENANCE_FILE}.${randomBytes(6).toString('hex')}`)
    await writeFile(temp, `${JSON.stringify(statement, null, 2)}`, { mode: 0o600, flag: 'wx' })
    if (sourceDateEpoch !== undefined) await utimes(temp, sourceDateEpoch, sourceDateEpoch)
    try {
      await rename(temp, file)
    } catch (err) {
      await rm(temp, { force: true })
      if ((err as NodeJS.ErrnoException).code !== 'EISDIR' && (err as NodeJS.ErrnoException).code !== 'ENOTEMPTY') throw err
      throw new TsbuildError('CONFLICT', `cannot write ${file}: the output has a directory ${PROVENANCE_FILE} where the provenance statement goes`, {
        hint: 'rename that directory in the image, or build without --provenance for this output',
      })
    }
  }
}

/** Regular files under `dir`, depth first in name order; symlinks are not followed. */
async function regularFiles (root: string, dir: string): Promise<string[]> {
  const entries = (await readdir(join(root, dir), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  const out: string[] = []
  for (const e of entries) {
    const rel = dir === '' ? e.name : `${dir}/${e.name}`
    if (e.isDirectory()) out.push(...await regularFiles(root, rel))
    else if (e.isFile()) out.push(rel)
  }
  return out
}
