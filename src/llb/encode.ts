import { createHash, hash, type Hash } from 'node:crypto'
import type { Digest } from '../common/digest.js'
import { normalizePlatform, type Platform } from '../common/platform.js'
import type { ChownOpt, ExecOp, FileAction, FileActionSpec, Mount, Op, SourceAttrs } from './ops.js'

/**
 * The canonical form of an op: identity-relevant fields only, the platform
 * normalised, unordered lists (mounts, follow paths, secret env, worker
 * filters) sorted, and every member that holds its default dropped (false,
 * '', [], {}, the `default`/`sandbox`/`shared`/`utf8` modes, cwd `/`). Two
 * ops that mean the same thing encode equally however they were built.
 *
 * Every object is created with its keys already in sorted order, so
 * `JSON.stringify` of the result is byte-for-byte what `canonicalJson`
 * produces; {@link digestOf} relies on that to skip a second sorting copy
 * (marshalling is on the hot path of every build). encode.test.ts checks the
 * equivalence.
 */
export function encodeOp (op: Op): Record<string, unknown> {
  const constraints = encodeConstraints(op)
  const inputs = op.inputs.map((e) => ({ digest: e.digest, index: e.index }))
  const platform = op.platform === undefined ? undefined : encodePlatform(op.platform)
  const kind = op.kind
  switch (op.kind) {
    case 'source':
      return pick({ attrs: encodeSourceAttrs(op.attrs), constraints, identifier: op.identifier, inputs, kind, platform })
    case 'exec':
      return encodeExecOp(op, op.meta.env)
    case 'file':
      return pick({ actions: op.actions.map(encodeFileAction), constraints, inputs, kind, platform })
    case 'merge':
      return pick({ constraints, inputs, kind, platform })
    case 'diff':
      return pick({ constraints, inputs, kind, lower: op.lower, platform, upper: op.upper })
    default:
      throw new Error(`unknown op kind ${(op as { kind: unknown }).kind}`)
  }
}

/**
 * Content digest of an op (the vertex digest): sha256 of the canonical JSON
 * of {@link encodeOp}, except that an exec op's `meta.env` list stands there
 * as the digest of its own canonical JSON (see {@link envDigest}). It covers
 * the inputs' digests, so it identifies the whole history behind the op's
 * outputs. Metadata is not part of it.
 */
export function digestOf (op: Op): Digest {
  const text = JSON.stringify(op.kind === 'exec' ? encodeExecOp(op, op.meta.env.length > 0 ? envDigest(op.meta.env) : undefined) : encodeOp(op))
  // One-shot hashing: a Hash object per op cost more than hashing the text.
  return `sha256:${hash('sha256', text, 'hex')}` as Digest
}

/**
 * sha256 of the canonical JSON of an env list, remembered per list. A
 * measured hot path: every RUN of a stage carries the whole stage
 * environment (hundreds of entries in big Dockerfiles) and consecutive RUNs
 * share one env array, so digesting the list once per array instead of
 * re-serialising it into every op's text removes most of marshalling's
 * work and garbage. Equal lists give equal digests however they were built,
 * so op digests stay content-addressed. Lists inside ops are immutable (ops
 * are values), so a remembered digest never goes stale.
 */
const envDigests = new WeakMap<readonly string[], string>()

/**
 * The last list digested, with a hash fed its JSON text up to (not
 * including) the closing `]`. Marshalling visits a stage's ops in order and
 * a later env list usually extends the previous one (ENV appends), so only
 * the new entries are serialised and hashed.
 */
let lastList: readonly string[] | undefined
let lastOpenHash: Hash | undefined

function envDigest (list: readonly string[]): string {
  let d = envDigests.get(list)
  if (d !== undefined) return d
  let h: Hash
  if (lastOpenHash !== undefined && lastList!.length > 0 && list.length > lastList!.length && startsWithList(list, lastList!)) {
    h = lastOpenHash.copy()
    for (let i = lastList!.length; i < list.length; i++) h.update(`,${JSON.stringify(list[i])}`)
  } else {
    h = createHash('sha256').update(JSON.stringify(list).slice(0, -1))
  }
  lastList = list
  lastOpenHash = h
  d = `sha256:${h.copy().update(']').digest('hex')}`
  envDigests.set(list, d)
  return d
}

function startsWithList (list: readonly string[], prefix: readonly string[]): boolean {
  for (let i = 0; i < prefix.length; i++) if (list[i] !== prefix[i]) return false
  return true
}

/**
 * The part of an op's canonical form a cache key is computed from: like
 * {@link encodeOp} but without `inputs` (the solver substitutes its inputs'
 * cache keys) and without what cannot change the result: proxy settings and
 * the IP addresses of extra hosts (as BuildKit's ExecOp CacheMap blanks them).
 * Keys stay sorted, so `JSON.stringify` of it is canonical.
 */
export function encodeOpForCache (op: Op): Record<string, unknown> {
  const target: Op = op.kind === 'exec'
    ? { ...op, meta: { ...op.meta, proxyEnv: undefined, extraHosts: op.meta.extraHosts.map((h) => ({ host: h.host, ip: '' })) } }
    : op
  const { inputs: _inputs, ...rest } = encodeOp(target)
  return rest
}

function encodePlatform (p: Platform): Record<string, unknown> {
  const n = normalizePlatform(p)
  return pick({ architecture: n.architecture, os: n.os, variant: n.variant })
}

function encodeSourceAttrs (a: SourceAttrs): Record<string, unknown> {
  switch (a.type) {
    case 'image':
      return pick({ ref: a.ref, resolveMode: a.resolveMode === 'default' ? undefined : a.resolveMode, type: a.type })
    case 'local':
      return pick({
        excludePatterns: a.excludePatterns,
        followPaths: [...new Set(a.followPaths)].sort(),
        includePatterns: a.includePatterns,
        name: a.name,
        sharedKeyHint: a.sharedKeyHint,
        type: a.type,
      })
    case 'http':
      return pick({ checksum: a.checksum, chmod: a.chmod, filename: a.filename, gid: a.gid, type: a.type, uid: a.uid, url: a.url })
    case 'git':
      return pick({ keepGitDir: a.keepGitDir, ref: a.ref, remote: a.remote, subdir: a.subdir, type: a.type })
  }
}

/**
 * The canonical form of an exec op with `env` standing for `meta.env`: the
 * list itself for {@link encodeOp}, its digest for {@link digestOf}.
 */
function encodeExecOp (op: ExecOp, env: readonly string[] | string | undefined): Record<string, unknown> {
  const m = op.meta
  const p = m.proxyEnv
  const meta = pick({
    args: m.args,
    cwd: m.cwd === '' || m.cwd === '/' ? undefined : m.cwd,
    env,
    extraHosts: m.extraHosts.length === 0 ? undefined : m.extraHosts.map((h) => ({ host: h.host, ip: h.ip })),
    hostname: m.hostname,
    proxyEnv: p === undefined ? undefined : pick({ allProxy: p.allProxy, ftpProxy: p.ftpProxy, httpProxy: p.httpProxy, httpsProxy: p.httpsProxy, noProxy: p.noProxy }),
    secretEnv: m.secretEnv.length === 0 ? undefined : [...m.secretEnv].sort((a, b) => cmp(a.name, b.name)).map((s) => pick({ id: s.id, name: s.name, optional: s.optional })),
    user: m.user,
  })
  return pick({
    constraints: encodeConstraints(op),
    inputs: op.inputs.map((e) => ({ digest: e.digest, index: e.index })),
    kind: op.kind,
    meta,
    mounts: (isSortedByDest(op.mounts) ? op.mounts : [...op.mounts].sort((a, b) => cmp(a.dest, b.dest))).map(encodeMount),
    network: op.network === 'default' ? undefined : op.network,
    platform: op.platform === undefined ? undefined : encodePlatform(op.platform),
    security: op.security === 'sandbox' ? undefined : op.security,
  })
}

function encodeConstraints (op: Op): Record<string, unknown> | undefined {
  return op.constraints?.workerFilter === undefined ? undefined : pick({ workerFilter: [...op.constraints.workerFilter].sort() })
}

function encodeMount (m: Mount): Record<string, unknown> {
  switch (m.type) {
    case 'bind':
      return pick({ dest: m.dest, input: m.input, output: m.output, readonly: m.readonly, selector: m.selector, type: m.type })
    case 'cache':
      return pick({
        cacheId: m.cacheId, dest: m.dest, input: m.input, output: m.output, readonly: m.readonly, selector: m.selector,
        sharing: m.sharing === 'shared' ? undefined : m.sharing, type: m.type,
      })
    case 'tmpfs':
      return pick({ dest: m.dest, input: m.input, output: m.output, readonly: m.readonly, selector: m.selector, size: m.size, type: m.type })
    case 'secret':
      return pick({
        dest: m.dest, gid: m.gid, input: m.input, mode: m.mode, optional: m.optional, output: m.output, readonly: m.readonly,
        secretId: m.secretId, selector: m.selector, type: m.type, uid: m.uid,
      })
    case 'ssh':
      return pick({
        dest: m.dest, gid: m.gid, input: m.input, mode: m.mode, optional: m.optional, output: m.output, readonly: m.readonly,
        selector: m.selector, sshId: m.sshId, type: m.type, uid: m.uid,
      })
  }
}

function encodeFileAction (fa: FileAction): Record<string, unknown> {
  return { action: encodeActionSpec(fa.action), input: fa.input, output: fa.output, secondaryInput: fa.secondaryInput }
}

function encodeActionSpec (a: FileActionSpec): Record<string, unknown> {
  switch (a.type) {
    case 'copy':
      return pick({
        allowEmptyWildcard: a.allowEmptyWildcard,
        allowWildcard: a.allowWildcard,
        alwaysReplaceExistingDestPaths: a.alwaysReplaceExistingDestPaths,
        attemptUnpack: a.attemptUnpack,
        createDestPath: a.createDestPath,
        dest: a.dest,
        dirCopyContents: a.dirCopyContents,
        excludePatterns: a.excludePatterns,
        followSymlink: a.followSymlink,
        includePatterns: a.includePatterns,
        mode: a.mode,
        owner: encodeOwner(a.owner),
        parents: a.parents,
        src: a.src,
        type: a.type,
      })
    case 'mkdir':
      return pick({ makeParents: a.makeParents, mode: a.mode, owner: encodeOwner(a.owner), path: a.path, type: a.type })
    case 'mkfile':
      return pick({
        data: a.data, dataEncoding: a.dataEncoding === 'utf8' ? undefined : a.dataEncoding, mode: a.mode, owner: encodeOwner(a.owner), path: a.path, type: a.type,
      })
    case 'rm':
      return pick({ allowNotFound: a.allowNotFound, allowWildcard: a.allowWildcard, path: a.path, type: a.type })
    case 'symlink':
      return pick({ newpath: a.newpath, oldpath: a.oldpath, owner: encodeOwner(a.owner), type: a.type })
  }
}

function encodeOwner (o: ChownOpt | undefined): Record<string, unknown> | undefined {
  return o === undefined ? undefined : pick({ group: o.group, user: o.user })
}

/**
 * Copy `src` without the members that hold a default: undefined, false, '',
 * [] and {}. Numbers always stay (0 is a real index, mode or id). Nested
 * values are expected to be encoded already.
 */
function pick (src: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const k in src) {
    const x = src[k]
    if (x === undefined || x === false || x === '') continue
    if (typeof x === 'object' && x !== null && (Array.isArray(x) ? x.length === 0 : isEmptyObject(x))) continue
    out[k] = x
  }
  return out
}

function isEmptyObject (o: object): boolean {
  for (const _ in o) return false
  return true
}

/** Builders plan mounts in dest order, so the sort is usually not needed. */
function isSortedByDest (mounts: readonly Mount[]): boolean {
  for (let i = 1; i < mounts.length; i++) if (mounts[i - 1]!.dest > mounts[i]!.dest) return false
  return true
}

function cmp (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
