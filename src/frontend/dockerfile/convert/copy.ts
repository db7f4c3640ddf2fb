/**
 * COPY and ADD: sources from the build context, another stage, an image or
 * a named context (`--from`), ADD's URLs, git repositories and local
 * archives, heredoc files, `--chown/--chmod/--link/--parents/--exclude`.
 */
import { posix } from 'node:path'
import { parseGitRef, type GitRef } from '../../../common/gitRef.js'
import * as llb from '../../../llb/index.js'
import { parseChmod, type AddInstruction, type CopyInstruction } from '../instructions/index.js'
import { displayCommand, GLOB_CHARS, instructionMetadata, stageEnv, type ConvertContext, type StageState } from './context.js'
import { dockerfileError } from './errors.js'
import { commitToHistory } from './image.js'
import type { SourceLookup } from './run.js'
import { parseUser } from './user.js'

const isHttpUrl = (s: string): boolean => /^https?:\/\//i.test(s)

/**
 * ADD's git sources: a git remote as BuildKit parses it, except the
 * `github.com/org/repo` form, which ADD reads as a local path.
 */
export function isGitSource (s: string): boolean {
  return gitSourceOf(s) !== undefined
}

function gitSourceOf (s: string): GitRef | undefined {
  const ref = parseGitRef(s)
  return ref === undefined || ref.isIndistinguishableFromLocal ? undefined : ref
}

function httpFilename (url: string): string {
  let path = '/'
  try { path = new URL(url).pathname } catch { /* keep default */ }
  return path === '/' || path === '' ? '__unnamed__' : posix.basename(path)
}

/** The leading path elements of `src` that hold no glob character. */
function literalPrefix (src: string): string {
  const parts = src.split('/')
  const i = parts.findIndex((p) => p.search(GLOB_CHARS) >= 0)
  return i < 0 ? src : parts.slice(0, i).join('/')
}

/** The destination made absolute against WORKDIR; a trailing `/` (or `.`) means "into this directory". */
function destPath (st: StageState, dest: string): string {
  const d = dest === '' || dest === '.' ? './' : dest
  return llb.resolvePath(st.state.getDir(), d, { keepTrailingSlash: true })
}

export function copyFrom (ctx: ConvertContext, st: StageState, instr: CopyInstruction | AddInstruction, sourceOf: SourceLookup): void {
  const env = stageEnv(st)
  const expand = (w: string): string => ctx.lex.processWord(w, env)
  const isAdd = instr.kind === 'add'
  const sources = instr.sources.map(expand)
  const dest = destPath(st, expand(instr.dest))
  const fail = (msg: string): never => { throw dockerfileError('INVALID_INSTRUCTION', ctx.file, instr.range, msg) }
  if (sources.length + instr.sourceContents.length > 1 && !dest.endsWith('/')) {
    fail(`When using ${instr.kind.toUpperCase()} with more than one source file, the destination must be a directory and end with a /`)
  }
  const chown = instr.chown !== undefined ? expand(instr.chown) : undefined
  const owner = chown !== undefined && chown !== '' ? parseUser(chown) : undefined
  let mode: number | string | undefined
  let chmodText: string | undefined
  if (instr.chmod !== undefined) {
    const text = chmodText = expand(instr.chmod)
    const parsed = parseChmod(text)
    if (parsed === undefined) fail(`invalid --chmod value ${JSON.stringify(text)}: expected octal (0755) or symbolic (u+x,g-w)`)
    mode = parsed!.kind === 'octal' ? parsed!.mode : text
  }
  // As in BuildKit, --link with --chmod is an ordinary copy.
  const isLinked = instr.isLink && (chmodText === undefined || chmodText === '')
  if (isLinked && owner !== undefined && (typeof owner.user === 'string' || typeof owner.group === 'string')) {
    fail(`${instr.kind.toUpperCase()} --link --chown=${chown}: --link copies onto an empty layer, where user and group names cannot be looked up; use numeric IDs (--chown=1000:1000)`)
  }
  const excludes = instr.excludes.map(expand)
  const from = instr.kind === 'copy' && instr.from !== undefined ? sourceOf(instr.from) : ctx.buildContext
  const readsContext = from === ctx.buildContext
  const actions: llb.FileActionChain[] = []
  for (let i = 0; i < sources.length; i++) {
    const src = sources[i]!
    const gitSource = isAdd ? gitSourceOf(src) : undefined
    if (gitSource !== undefined) {
      const { remote, ref, subdir } = gitSource
      if (gitSource.checksum !== undefined) fail(`ADD ${src}: a git checksum in the URL is not supported; pin the commit with #<commit>`)
      const repo = llb.git(remote, ref, { keepGitDir: (instr as AddInstruction).keepGitDir || gitSource.keepGitDir === true, ...(subdir !== undefined ? { subdir } : {}) })
      actions.push(llb.copy(repo, '/', dest, { owner, mode, dirCopyContents: true, createDestPath: true, followSymlink: true }))
    } else if (isAdd && isHttpUrl(src)) {
      const checksum = (instr as AddInstruction).checksum
      const filename = httpFilename(src)
      const download = llb.http(src, { filename, ...(checksum !== undefined ? { checksum: expand(checksum) } : {}) })
      actions.push(llb.copy(download, `/${filename}`, dest.endsWith('/') ? dest + filename : dest, { owner, mode, createDestPath: true }))
    } else if (instr.kind === 'copy' && instr.isParents) {
      // --parents, as BuildKit does it: the part before a `/./` pivot (or the
      // root) is copied, filtered by the rest as an include pattern (`**`
      // allowed), so the directories below the pivot are kept.
      // The part after the pivot filters with .dockerignore rules (`**`), not
      // as a COPY glob: the context is read from the last plain directory up.
      if (readsContext) ctx.contextPaths.add(literalPrefix(src))
      const pivot = src.indexOf('/./')
      const pattern = llb.resolvePath('/', pivot < 0 ? src : src.slice(pivot + 3)).slice(1)
      actions.push(llb.copy(from, pivot < 0 ? '/' : llb.joinRoot(src.slice(0, pivot)), dest, {
        owner,
        mode,
        followSymlink: true,
        dirCopyContents: true,
        createDestPath: true,
        allowWildcard: true,
        allowEmptyWildcard: true,
        includePatterns: pattern === '' ? [] : [pattern],
        excludePatterns: excludes,
      }))
    } else {
      if (isAdd && (instr as AddInstruction).checksum !== undefined) fail('checksum can\'t be specified for non-HTTP(S) sources')
      if (readsContext) ctx.contextPaths.add(src)
      // joinRoot keeps a trailing `/` (copy the directory's contents).
      actions.push(llb.copy(from, llb.joinRoot(src), dest, {
        owner,
        mode,
        followSymlink: true,
        dirCopyContents: true,
        attemptUnpack: isAdd && ((instr as AddInstruction).unpack ?? true),
        createDestPath: true,
        allowWildcard: true,
        allowEmptyWildcard: true,
        excludePatterns: excludes,
      }))
    }
  }
  for (const doc of instr.sourceContents) {
    const data = doc.expand ? expand(doc.data) : doc.data
    const file = llb.joinRoot(doc.path)
    const content = llb.scratch().file(llb.mkfile(file, typeof mode === 'number' ? mode : 0o644, data), { customName: '[internal] preparing inline document' })
    actions.push(llb.copy(content, file, dest, { owner, mode, createDestPath: true }))
  }
  const chain = actions.reduce((a, b) => a.then(b))
  const md = instructionMetadata(ctx, st, { name: displayCommand(ctx, st, instr.original), original: instr.original.trim(), range: instr.range })
  if (isLinked) {
    // --link: the copy lands on an empty layer that is merged on top, so it
    // does not depend on (or invalidate with) the layers below.
    const layer = llb.scratch().file(chain, md)
    st.state = llb.merge([st.state, layer], md)
  } else {
    st.state = st.state.file(chain, md)
  }
  if (!st.recordsImage) return
  // BuildKit's line: the flags that change the files, then sources and dest as expanded.
  let createdBy = instr.kind.toUpperCase()
  if (instr.kind === 'copy' && instr.isParents) createdBy += ' --parents'
  if (chown !== undefined && chown !== '') createdBy += ` --chown=${chown}`
  if (chmodText !== undefined && chmodText !== '') createdBy += ` --chmod=${chmodText}`
  for (const src of sources) createdBy += ` ${src}`
  for (const doc of instr.sourceContents) createdBy += ` <<${doc.path}`
  commitToHistory(st.image, `${createdBy} ${expand(instr.dest)}`, { withLayer: true, withState: true, ...(ctx.created !== undefined ? { created: ctx.created } : {}) })
}
