import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { TsbuildError } from '../../common/errors.js'
import { resolveInRoot } from '../../common/pathInRoot.js'
import { cleanPath } from './cleanPath.js'
import { Pattern } from './pattern.js'

/**
 * Parse .dockerignore text the way Docker's reader does: a UTF-8 BOM is
 * dropped, lines starting with `#` are comments (only in the first column),
 * surrounding whitespace is trimmed, each pattern is cleaned and a leading `/`
 * removed so every pattern is anchored at the context root. `!` survives in
 * front of the cleaned pattern. Throws USAGE naming `file` and the line on a
 * malformed pattern.
 */
export function parseDockerignore (text: string, file = '.dockerignore'): string[] {
  const out: string[] = []
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/)
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n]!
    if (raw.startsWith('#')) continue
    let pattern = raw.trim()
    if (pattern === '') continue
    const isException = pattern.startsWith('!')
    if (isException) pattern = pattern.slice(1).trim()
    if (pattern !== '') {
      pattern = cleanPath(pattern)
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1)
    }
    if (isException) pattern = '!' + pattern
    try {
      void new Pattern(pattern)
    } catch (err) {
      throw new TsbuildError('USAGE', `${file}:${n + 1}: invalid pattern ${JSON.stringify(raw.trim())}: ${(err as Error).message}`, { cause: err })
    }
    out.push(pattern)
  }
  return out
}

export interface DockerignoreSource {
  /** Absolute path of the file the patterns came from; undefined when there is none. */
  file: string | undefined
  patterns: string[]
}

/**
 * Find and parse the ignore file for a build: `<Dockerfile path>.dockerignore`
 * beside the Dockerfile wins over `<context>/.dockerignore` (BuildKit's
 * dockerui rule), so `docker/app.Dockerfile` reads
 * `docker/app.Dockerfile.dockerignore` first.
 */
export async function loadDockerignore (opts: { contextDir: string; dockerfilePath?: string }): Promise<DockerignoreSource> {
  const candidates: string[] = []
  if (opts.dockerfilePath !== undefined) candidates.push(path.resolve(opts.contextDir, opts.dockerfilePath) + '.dockerignore')
  candidates.push(path.join(path.resolve(opts.contextDir), '.dockerignore'))
  const root = path.resolve(opts.contextDir)
  for (const file of candidates) {
    let text: string
    try {
      // A context from a tar or a repository is not the user's: an ignore file
      // there that links to /etc/… or /dev/zero is read inside the context.
      const relative = path.relative(root, file)
      const isInContext = relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative)
      text = await readFile(isInContext ? await resolveInRoot(root, relative, { followFinal: true }) : file, 'utf8')
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'ENOTDIR') continue
      throw new TsbuildError('IO', `cannot read ${file}: ${(err as Error).message}`, { cause: err })
    }
    return { file, patterns: parseDockerignore(text, file) }
  }
  return { file: undefined, patterns: [] }
}
