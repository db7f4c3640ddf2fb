/**
 * RUN: the command line (SHELL for shell form, heredocs as BuildKit runs
 * them), `--mount` types mapped to LLB mounts, `--network`, `--security`,
 * proxy settings beside the environment, the build's `--add-host`,
 * `--shm-size` and `--ulimit`, and the history line.
 */
import { posix } from 'node:path'
import * as llb from '../../../llb/index.js'
import { parseRunMount, type RunInstruction, type RunMount } from '../instructions/index.js'
import { parseHeredocWord } from '../parser/index.js'
import { displayCommand, escapeGlobChars, instructionMetadata, stageEnv, type ConvertContext, type StageState } from './context.js'
import { dockerfileError, locate } from './errors.js'
import { commitToHistory } from './image.js'
import { withShell } from './metadata.js'

/** The State a `from=` / `--from` value names; the stage loop resolves these before dispatching. */
export type SourceLookup = (name: string) => llb.State

export function dispatchRun (ctx: ConvertContext, st: StageState, instr: RunInstruction, sourceOf: SourceLookup): void {
  const env = stageEnv(st)
  const mounts = instr.mountSpecs.map((spec, i) => spec.includes('$')
    ? locate(ctx.file, instr.range, () => parseRunMount(spec, word => ctx.lex.processWord(word, env)))
    : instr.mounts[i]!)
  let name = displayCommand(ctx, st, instr.original)
  let cmdArgs = instr.args
  const specs: llb.MountSpec[] = []
  if (!instr.json && instr.heredocs.length > 0) {
    const only = parseHeredocWord(cmdArgs[0]!.trim())
    if (only !== undefined) {
      const data = instr.heredocs[0]!.content
      if (st.platform.os !== 'windows' && data.startsWith('#!')) {
        // A script with its own interpreter: write it to a file and run that.
        const file = `/${instr.heredocs[0]!.name}`
        const script = llb.scratch().file(llb.mkfile(file, 0o755, data), { customName: '[internal] preparing inline document' })
        specs.push(llb.mount('/dev/pipes/', script, { readonly: true, selector: '/' }))
        cmdArgs = [posix.join('/dev/pipes/', file)]
      } else {
        cmdArgs = [data]
      }
      name += ` (${summarizeHeredoc(data)})`
    } else {
      cmdArgs = [cmdArgs[0] + instr.heredocs.map(h => `\n${h.content}${h.name}`).join('')]
    }
  }
  const args = withShell(st, { args: cmdArgs, json: instr.json })
  const secretEnv: llb.SecretEnv[] = []
  let sshIndex = 0
  for (let i = 0; i < mounts.length; i++) {
    const spec = toMountSpec(ctx, instr, mounts[i]!, sourceOf, secretEnv, () => sshIndex++)
    if (spec !== undefined) specs.push(spec)
  }
  const shm = shmMount(ctx, st, specs)
  if (shm !== undefined) specs.push(shm)
  const md = instructionMetadata(ctx, st, { name, original: instr.original.trim(), range: instr.range })
  // Unset options are left undefined rather than spread in: run() treats both alike.
  const exec = st.state.run({
    args,
    mounts: specs,
    // `--network=default` keeps the build's mode (`tsbuild build --network`), as in BuildKit.
    network: instr.network === 'default' ? undefined : instr.network,
    security: instr.security,
    proxyEnv: ctx.proxyEnv,
    secretEnv: secretEnv.length > 0 ? secretEnv : undefined,
    extraHosts: ctx.run.extraHosts.length > 0 ? ctx.run.extraHosts : undefined,
    ulimits: ctx.run.ulimits.length > 0 ? ctx.run.ulimits : undefined,
    customName: md.customName,
    description: md.description,
    locations: md.locations,
    ignoreCache: md.ignoreCache,
  })
  st.state = exec.root()
  if (st.recordsImage) commitToHistory(st.image, `RUN ${runCommandString(st, args)}`, { withLayer: true, withState: true, ...(ctx.created !== undefined ? { created: ctx.created } : {}) })
}

/**
 * `--shm-size`: a tmpfs of that size at /dev/shm, as BuildKit adds it to
 * every RUN. A RUN that mounts something at /dev/shm itself keeps its own
 * mount (two mounts at one place would be refused).
 */
function shmMount (ctx: ConvertContext, st: StageState, specs: readonly llb.MountSpec[]): llb.MountSpec | undefined {
  if (ctx.run.shmSize <= 0) return undefined
  const cwd = st.state.getDir()
  if (specs.some((m) => llb.resolvePath(cwd, m.dest) === '/dev/shm')) return undefined
  return llb.tmpfsMount('/dev/shm', { size: ctx.run.shmSize })
}

/** `|2 A=1 B=2 /bin/sh -c make`: the stage's ARGs lead the command, as BuildKit records them. */
function runCommandString (st: StageState, args: readonly string[]): string {
  const command = args.join(' ')
  if (st.buildArgs.length === 0) return command
  // An ARG declared twice counts once, where it was first declared.
  const values = new Map<string, string>()
  for (const arg of st.buildArgs) values.set(arg.key, st.state.getEnv(arg.key) ?? arg.value ?? '')
  let prefix = `|${values.size}`
  for (const [k, v] of values) prefix += ` ${k}=${v}`
  return `${prefix} ${command}`
}

function summarizeHeredoc (doc: string): string {
  const lines = doc.trim().replace(/\r\n/g, '\n').split('\n')
  return lines.length > 1 ? `${lines[0]}...` : lines[0]!
}

function toMountSpec (ctx: ConvertContext, instr: RunInstruction, m: RunMount, sourceOf: SourceLookup, secretEnv: llb.SecretEnv[], nextSsh: () => number): llb.MountSpec | undefined {
  const need = (what: string): never => { throw dockerfileError('INVALID_INSTRUCTION', ctx.file, instr.range, `RUN --mount type=${m.type}: ${what}`) }
  const selector = (src: string | undefined): string | undefined => src === undefined || src === '' ? undefined : llb.joinRoot(src)
  switch (m.type) {
    case 'bind': {
      if (m.target === undefined || m.target === '') return need('target is required')
      const source = m.from !== undefined ? sourceOf(m.from) : ctx.buildContext
      const sel = selector(m.source)
      // A mount source is a plain path; follow paths are globs, so its glob characters are escaped.
      if (source === ctx.buildContext) ctx.contextPaths.add(escapeGlobChars(m.source ?? '/'))
      // Writes to a bind mount are thrown away after the run, as in BuildKit.
      return llb.mount(m.target, source, { readonly: m.readOnly, output: false, ...(sel !== undefined ? { selector: sel } : {}) })
    }
    case 'cache': {
      if (m.target === undefined || m.target === '') return need('target is required')
      let from = m.from !== undefined ? sourceOf(m.from) : undefined
      let sel = selector(m.source)
      if (from === undefined && (m.uid !== undefined || m.gid !== undefined || m.mode !== undefined)) {
        from = llb.scratch().file(llb.mkdir('/cache', m.mode ?? 0o755, { owner: { user: m.uid ?? 0, group: m.gid ?? 0 } }), { customName: '[internal] settings cache mount permissions' })
        sel = '/cache'
      }
      return llb.cacheMount(m.target, {
        id: m.id !== undefined && m.id !== '' ? m.id : llb.joinRoot(m.target),
        sharing: m.sharing ?? 'shared',
        readonly: m.readOnly,
        ...(m.keyFrom !== undefined ? { keyFrom: m.keyFrom } : {}),
        ...(from !== undefined ? { from } : {}),
        ...(sel !== undefined ? { selector: sel } : {}),
      })
    }
    case 'tmpfs':
      if (m.target === undefined || m.target === '') return need('target is required')
      return llb.tmpfsMount(m.target, m.sizeLimit !== undefined ? { size: m.sizeLimit } : {})
    case 'secret': {
      const id = m.id ?? m.source ?? (m.target !== undefined ? posix.basename(m.target) : undefined)
      if (id === undefined || id === '') return need('id or target is required')
      const isRequired = m.required ?? false
      ctx.secrets.set(id, (ctx.secrets.get(id) ?? false) || isRequired)
      if (m.env !== undefined && m.env !== '') {
        secretEnv.push({ id, name: m.env, optional: !isRequired })
        if (m.target === undefined) return undefined
      }
      return llb.secretMount(m.target ?? `/run/secrets/${id}`, { id, uid: m.uid ?? 0, gid: m.gid ?? 0, mode: m.mode ?? 0o400, optional: !isRequired })
    }
    case 'ssh': {
      const id = m.id !== undefined && m.id !== '' ? m.id : 'default'
      const isRequired = m.required ?? false
      ctx.ssh.set(id, (ctx.ssh.get(id) ?? false) || isRequired)
      const index = nextSsh()
      return llb.sshMount(m.target ?? `/run/buildkit/ssh_agent.${index}`, { id, uid: m.uid ?? 0, gid: m.gid ?? 0, mode: m.mode ?? 0o600, optional: !isRequired })
    }
  }
}
