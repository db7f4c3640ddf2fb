import { dirname } from 'node:path'
import { canonicalJson, sha256 } from '../../common/digest.js'
import { TsbuildError } from '../../common/errors.js'
import { type CacheMount, encodeOpForCache, type ExecOp, type Mount as LlbMount, SCRATCH_INPUT } from '../../llb/index.js'
import { resolveInRoot, snapshotKey, type Snapshotter } from '../../cache/snapshots/index.js'
import type { CacheRecord } from '../../cache/index.js'
import type { ExecMount, RuncExecutor } from '../executor/index.js'
import type { CacheDep, CacheMap, OpContext, OpRunner, Result } from '../scheduler/index.js'
import { uniqueKey, withView } from './mounted.js'
import { contextOf, layersOf, type MountProviders } from './types.js'
import { selectedFiles } from '../explain/index.js'
import { checksumSnapshot } from '../context/index.js'
import { mountedContentDigest } from './file/contentKey.js'
import { cacheBaseKey, copyCacheBase, describeCacheBase } from '../mounts/index.js'

export interface ExecDeps {
  snapshotter: Snapshotter
  executor: RuncExecutor
  mounts: MountProviders
  /** Input ops, to know which inputs are local contexts (keyed by content). */
  inputIsLocal: readonly boolean[]
}

const PROXY_ENV: Array<[keyof NonNullable<ExecOp['meta']['proxyEnv']>, string[]]> = [
  ['httpProxy', ['HTTP_PROXY', 'http_proxy']], ['httpsProxy', ['HTTPS_PROXY', 'https_proxy']],
  ['ftpProxy', ['FTP_PROXY', 'ftp_proxy']], ['noProxy', ['NO_PROXY', 'no_proxy']], ['allProxy', ['ALL_PROXY', 'all_proxy']],
]

/**
 * RUN: the root mount's input is prepared as a writable overlay snapshot, the
 * process runs in a runc sandbox, and the upperdir is committed as the new
 * layer. Other mounts are views (bind), cache directories, tmpfs, secrets in
 * memory and ssh sockets; none of them reach the layer.
 */
export class ExecRunner implements OpRunner {
  readonly resource = 'exec'

  constructor (private readonly op: ExecOp, private readonly deps: ExecDeps) {}

  async cacheMap (): Promise<CacheMap> {
    // Filled in while the content keys are computed: what each bind mount of the context exposes, file by file.
    const explain: Record<string, string> = {}
    const deps: CacheDep[] = this.op.inputs.map((_, i) => {
      if (!this.deps.inputIsLocal[i]) return this.readOnlyBindDep(i)
      // A bind mount of the context keys on the content it exposes.
      const selectors = this.op.mounts.filter((m) => m.input === i).map((m) => m.selector ?? '/')
      return {
        computeDigest: async (input: Result) => {
          const ctx = contextOf(input)!
          for (const s of selectors) explain[`mounted:${s}`] = JSON.stringify(selectedFiles(ctx.snapshot, s, { followSymlinks: true, wildcard: false }))
          return sha256(canonicalJson(selectors.map((s) => checksumSnapshot(ctx.snapshot, s, { wildcard: false }))))
        },
      }
    })
    return { digest: sha256(canonicalJson(encodeOpForCache(this.op))), deps, explain }
  }

  /**
   * An input mounted only as read-only binds (never the root, a cache's base
   * or a writable bind) is read, not written on: BuildKit keys it by the
   * content of the mounted paths too, so a rebuilt stage that shows the same
   * files there keeps the step cached.
   */
  private readOnlyBindDep (i: number): CacheDep {
    const uses = this.op.mounts.filter((m) => m.input === i)
    if (uses.length === 0 || uses.some((m) => m.type !== 'bind' || !m.readonly || m.dest === '/')) return {}
    const selectors = [...new Set(uses.map((m) => m.selector ?? '/'))].sort()
    const { snapshotter } = this.deps
    return {
      contentOnceSolved: async (input: Result) => {
        // Snapshotter.root is <stateDir>/snapshots by construction.
        return await withView(snapshotter, dirname(snapshotter.root), await layersOf(input), async (root) => {
          const sums: Array<[string, string]> = []
          for (const s of selectors) {
            const d = await mountedContentDigest(await resolveInRoot(root, s, { followFinal: true }))
            if (d === undefined) return undefined
            sums.push([s, d])
          }
          return sha256(canonicalJson(sums))
        })
      },
    }
  }

  async exec (ctx: OpContext, inputs: Result[]): Promise<Result> {
    const { snapshotter, executor } = this.deps
    const rootMount = this.op.mounts.find((m) => m.dest === '/')
    if (rootMount === undefined) throw new Error('exec op without a root mount')
    const baseLayers = rootMount.input === SCRATCH_INPUT ? [] : await layersOf(inputs[rootMount.input])
    const key = snapshotKey(uniqueKey('exec'))
    const cleanups: Array<() => Promise<void> | void> = []
    let committed = false
    try {
      const rootfs = await snapshotter.prepare(key, baseLayers as never)
      const { mounts, env, secrets } = await this.extraMounts(ctx, inputs, cleanups)
      const meta = this.op.meta
      const emitLog = (stream: 1 | 2) => (chunk: Buffer): Promise<unknown> | undefined => {
        // Consumers that are behind say so while handling the event (see Backpressure); the executor then stops reading.
        let waits: Array<Promise<unknown>> | undefined
        ctx.emit({ type: 'log', digest: ctx.vertex, stream, data: chunk, time: Date.now(), backpressure: { wait: (p) => { (waits ??= []).push(p) } } })
        return waits !== undefined ? Promise.allSettled(waits) : undefined
      }
      await executor.run({
        rootfs,
        args: meta.args,
        env: [...meta.env, ...proxyEnv(this.op), ...env],
        cwd: meta.cwd,
        user: meta.user,
        network: this.op.network,
        security: this.op.security,
        ...(meta.hostname !== undefined ? { hostname: meta.hostname } : {}),
        extraHosts: meta.extraHosts,
        ...(meta.ulimits !== undefined && meta.ulimits.length > 0 ? { ulimits: meta.ulimits } : {}),
        mounts,
        ...(this.op.platform !== undefined ? { platform: this.op.platform } : {}),
        secrets,
        onStdout: emitLog(1),
        onStderr: emitLog(2),
        signal: ctx.signal,
      })
      const name = uniqueKey('layer')
      await snapshotter.commit(key, name as never)
      committed = true
      return { layers: [...baseLayers, name] }
    } finally {
      for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {})
      if (!committed) await snapshotter.remove(key).catch(() => {})
    }
  }

  load (record: CacheRecord): Result {
    return { layers: record.layers ?? [] }
  }

  private async extraMounts (ctx: OpContext, inputs: Result[], cleanups: Array<() => Promise<void> | void>): Promise<{ mounts: ExecMount[]; env: string[]; secrets: Uint8Array[] }> {
    const { snapshotter, mounts: providers } = this.deps
    const out: ExecMount[] = []
    const env: string[] = []
    // Every secret value the process gets, masked in its output (an echoed secret must not reach a log or the history).
    const secrets: Uint8Array[] = []
    for (const m of this.op.mounts as readonly LlbMount[]) {
      if (m.dest === '/') continue
      switch (m.type) {
        case 'bind': {
          const layers = m.input === SCRATCH_INPUT ? [] : await layersOf(inputs[m.input])
          const k = snapshotKey(uniqueKey(m.readonly ? 'bind' : 'bindrw'))
          // A writable bind's changes are discarded: it is a throwaway active snapshot.
          const mounts = m.readonly ? await snapshotter.view(k, layers as never) : await snapshotter.prepare(k, layers as never)
          cleanups.push(() => snapshotter.remove(k))
          out.push({ type: 'snapshot', destination: m.dest, mounts, readonly: m.readonly, ...(m.selector !== undefined ? { subpath: m.selector } : {}) })
          break
        }
        case 'cache': {
          const lease = await this.acquireCache(m, inputs, ctx.signal)
          cleanups.push(() => lease.release())
          out.push({ type: 'bind', destination: m.dest, source: lease.hostPath, readonly: m.readonly })
          break
        }
        case 'tmpfs':
          out.push({ type: 'tmpfs', destination: m.dest, ...(m.size !== undefined ? { sizeBytes: m.size } : {}) })
          break
        case 'secret': {
          const data = await providers.secret(m.secretId)
          if (data === undefined) {
            if (m.optional) break
            throw new TsbuildError('NOT_FOUND', `secret ${m.secretId} not found`, { hint: `pass it with --secret id=${m.secretId},src=FILE or --secret id=${m.secretId},env=VAR` })
          }
          out.push({ type: 'secret', destination: m.dest, data, mode: m.mode, uid: m.uid, gid: m.gid })
          secrets.push(data)
          break
        }
        case 'ssh': {
          const sock = providers.ssh !== undefined ? await providers.ssh(m.sshId, ctx.signal) : undefined
          if (sock === undefined) {
            if (m.optional) break
            throw new TsbuildError('NOT_FOUND', `no ssh agent or key was given for id ${JSON.stringify(m.sshId)}`, { hint: `pass it with --ssh ${m.sshId === 'default' ? 'default' : `${m.sshId}=PATH`}` })
          }
          cleanups.push(() => sock.release())
          out.push({ type: 'bind', destination: m.dest, source: sock.socketPath })
          env.push(`SSH_AUTH_SOCK=${m.dest}`)
          break
        }
      }
    }
    for (const s of this.op.meta.secretEnv) {
      const data = await providers.secret(s.id)
      if (data === undefined) {
        if (s.optional) continue
        throw new TsbuildError('NOT_FOUND', `secret ${s.id} not found`, { hint: `pass it with --secret id=${s.id},env=VAR` })
      }
      env.push(`${s.name}=${Buffer.from(data).toString('utf8')}`)
      secrets.push(data)
    }
    return { mounts: out, env, secrets }
  }

  /**
   * A cache mount's input is the base a NEW cache directory starts from: its
   * selected directory's owner and mode, and with `from=` its files. An
   * existing directory keeps its contents, owner and mode. A base with files
   * names a cache of its own (id plus the base, as BuildKit keys it), so a
   * plain cache of the same id is never seeded over, nor seeds it.
   */
  private async acquireCache (m: CacheMount, inputs: Result[], signal: AbortSignal): ReturnType<MountProviders['cache']> {
    const { snapshotter, mounts: providers } = this.deps
    const request = { id: m.cacheId, sharing: m.sharing, ...(m.keyFrom !== undefined ? { keyFrom: m.keyFrom } : {}) }
    if (m.input === SCRATCH_INPUT) return await providers.cache({ ...request, uid: 0, gid: 0, mode: 0o755 }, signal)
    const layers = await layersOf(inputs[m.input])
    const selector = m.selector ?? '/'
    // The view stays mounted until the cache is acquired, so a new directory is seeded from it
    // without a second mount. Snapshotter.root is <stateDir>/snapshots by construction.
    return await withView(snapshotter, dirname(snapshotter.root), layers, async (root) => {
      const base = await describeCacheBase(root, selector)
      return await providers.cache({
        ...request,
        uid: base?.uid ?? 0,
        gid: base?.gid ?? 0,
        mode: base?.mode ?? 0o755,
        ...(base?.hasContent === true ? { baseKey: cacheBaseKey(layers, selector), seed: async (dir: string) => { await copyCacheBase(base.path, dir) } } : {}),
      }, signal)
    })
  }
}

function proxyEnv (op: ExecOp): string[] {
  const p = op.meta.proxyEnv
  if (p === undefined) return []
  const out: string[] = []
  for (const [field, names] of PROXY_ENV) {
    const v = p[field]
    if (v !== undefined) for (const n of names) out.push(`${n}=${v}`)
  }
  return out
}
