import { createHash, hash, type Hash } from 'node:crypto'
import type { Digest } from '../common/digest.js'
import { normalizePlatform, type Platform } from '../common/platform.js'
import type { ChownOpt, Edge, ExecOp, FileAction, FileActionSpec, Mount, Op, SourceAttrs } from './ops.js'

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
  const inputs = encodeInputs(op.inputs)
  const platform = op.platform === undefined ? undefined : encodePlatform(op.platform)
  const kind = op.kind
  switch (op.kind) {
    case 'source':
      return pick({ attrs: encodeSourceAttrs(op.attrs), constraints, identifier: op.identifier, inputs, kind, platform })
    case 'exec':
      return encodeExecOp(op, op.meta.env)
    case 'file': {
      const out: Record<string, unknown> = {}
      if (op.actions.length > 0) out.actions = op.actions.map(encodeFileAction)
      if (constraints !== undefined) putObject(out, 'constraints', constraints)
      if (inputs.length > 0) out.inputs = inputs
      out.kind = kind
      if (platform !== undefined) putObject(out, 'platform', platform)
      return out
    }
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

/** Platforms are few and shared by many ops: each one's encoding is made once (and frozen, since it is shared). */
const encodedPlatforms = new WeakMap<Platform, Record<string, unknown>>()

function encodePlatform (p: Platform): Record<string, unknown> {
  let e = encodedPlatforms.get(p)
  if (e === undefined) {
    const n = normalizePlatform(p)
    e = Object.freeze(pick({ architecture: n.architecture, os: n.os, variant: n.variant }))
    encodedPlatforms.set(p, e)
  }
  return e
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
  // Written out member by member (the rules of pick): thousands of these are
  // encoded per big Dockerfile, mostly before the code is optimised.
  const m = op.meta
  const p = m.proxyEnv
  const meta: Record<string, unknown> = {}
  if (m.args.length > 0) meta.args = m.args
  if (m.cwd !== '' && m.cwd !== '/') meta.cwd = m.cwd
  if (env !== undefined && env.length > 0) meta.env = env
  if (m.extraHosts.length > 0) meta.extraHosts = m.extraHosts.map((h) => ({ host: h.host, ip: h.ip }))
  if (m.hostname !== undefined && m.hostname !== '') meta.hostname = m.hostname
  if (p !== undefined) putObject(meta, 'proxyEnv', pick({ allProxy: p.allProxy, ftpProxy: p.ftpProxy, httpProxy: p.httpProxy, httpsProxy: p.httpsProxy, noProxy: p.noProxy }))
  if (m.secretEnv.length > 0) meta.secretEnv = [...m.secretEnv].sort((a, b) => cmp(a.name, b.name)).map((s) => pick({ id: s.id, name: s.name, optional: s.optional }))
  // One limit per name, so the set is keyed by name: sorted, however it was given.
  if (m.ulimits !== undefined && m.ulimits.length > 0) meta.ulimits = [...m.ulimits].sort((a, b) => cmp(a.name, b.name)).map((u) => ({ hard: u.hard, name: u.name, soft: u.soft }))
  if (m.user !== '') meta.user = m.user
  const out: Record<string, unknown> = {}
  const constraints = encodeConstraints(op)
  if (constraints !== undefined) putObject(out, 'constraints', constraints)
  if (op.inputs.length > 0) out.inputs = encodeInputs(op.inputs)
  out.kind = op.kind
  putObject(out, 'meta', meta)
  const mounts = isSortedByDest(op.mounts) ? op.mounts : [...op.mounts].sort((a, b) => cmp(a.dest, b.dest))
  if (mounts.length > 0) out.mounts = mounts.map(encodeMount)
  if (op.network !== 'default' && op.network !== undefined) out.network = op.network
  if (op.platform !== undefined) putObject(out, 'platform', encodePlatform(op.platform))
  if (op.security !== 'sandbox' && op.security !== undefined) out.security = op.security
  return out
}

function encodeInputs (inputs: readonly Edge[]): Array<{ digest: Digest, index: number }> {
  const out = new Array<{ digest: Digest, index: number }>(inputs.length)
  for (let i = 0; i < inputs.length; i++) out[i] = { digest: inputs[i]!.digest, index: inputs[i]!.index }
  return out
}

/** Set a nested object unless it is empty (pick's rule for objects). */
function putObject (o: Record<string, unknown>, key: string, value: Record<string, unknown>): void {
  if (!isEmptyObject(value)) o[key] = value
}

function encodeConstraints (op: Op): Record<string, unknown> | undefined {
  return op.constraints?.workerFilter === undefined ? undefined : pick({ workerFilter: [...op.constraints.workerFilter].sort() })
}

function encodeMount (m: Mount): Record<string, unknown> {
  switch (m.type) {
    case 'bind': {
      const o: Record<string, unknown> = {}
      if (m.dest !== '') o.dest = m.dest
      o.input = m.input
      o.output = m.output
      if (m.readonly) o.readonly = true
      if (m.selector !== undefined && m.selector !== '') o.selector = m.selector
      o.type = m.type
      return o
    }
    case 'cache': {
      const o: Record<string, unknown> = {}
      if (m.cacheId !== '') o.cacheId = m.cacheId
      if (m.dest !== '') o.dest = m.dest
      o.input = m.input
      o.output = m.output
      if (m.readonly) o.readonly = true
      if (m.selector !== undefined && m.selector !== '') o.selector = m.selector
      if (m.sharing !== 'shared' && m.sharing !== undefined) o.sharing = m.sharing
      o.type = m.type
      return o
    }
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
    case 'copy': {
      const o: Record<string, unknown> = {}
      if (a.allowEmptyWildcard) o.allowEmptyWildcard = true
      if (a.allowWildcard) o.allowWildcard = true
      if (a.alwaysReplaceExistingDestPaths) o.alwaysReplaceExistingDestPaths = true
      if (a.attemptUnpack) o.attemptUnpack = true
      if (a.createDestPath) o.createDestPath = true
      if (a.dest !== '') o.dest = a.dest
      if (a.dirCopyContents) o.dirCopyContents = true
      if (a.excludePatterns !== undefined && a.excludePatterns.length > 0) o.excludePatterns = a.excludePatterns
      if (a.followSymlink) o.followSymlink = true
      if (a.includePatterns !== undefined && a.includePatterns.length > 0) o.includePatterns = a.includePatterns
      if (a.mode !== undefined && a.mode !== '') o.mode = a.mode
      const owner = encodeOwner(a.owner)
      if (owner !== undefined) putObject(o, 'owner', owner)
      if (a.parents) o.parents = true
      if (a.src !== '') o.src = a.src
      o.type = a.type
      return o
    }
    case 'mkdir': {
      const o: Record<string, unknown> = {}
      if (a.makeParents) o.makeParents = true
      o.mode = a.mode
      const owner = encodeOwner(a.owner)
      if (owner !== undefined) putObject(o, 'owner', owner)
      if (a.path !== '') o.path = a.path
      o.type = a.type
      return o
    }
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
