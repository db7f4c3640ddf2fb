import { readFile, rm } from 'node:fs/promises'
import { Writable } from 'node:stream'
import { probeFileDest, writeFileSafely } from '../../common/ensureDir.js'
import { hasCode } from '../../common/errors.js'
import type { SolveEvent } from '../../solver/events.js'
import { parseBuildArgs, type CliBuildRequest } from '../flags/buildFlags.js'
import type { CommandIo } from '../io.js'
import { buildMetadata, createProgress, exportedNames, imageConfigDigest, formatFindingEvents, resultEvents, startHistory } from '../progress/index.js'
import { checkSecretFiles, checkSshSources } from '../sessionSources.js'
import { ensureStateDir } from '../stateDir.js'
import { usage } from '../usage.js'

export async function run (argv: string[], io: CommandIo): Promise<number> {
  const req = parseBuildArgs(argv, io.cwd, io.env)
  if (req.help) { io.stdout.write(usage); return 0 }
  if (req.dockerfile.fromStdin === true) req.dockerfile.content = await readStdin(io)
  const stateDir = await ensureStateDir(io)
  const source = req.remoteContext ?? (req.contextFromStdin === true ? { kind: 'stdin' as const } : undefined)
  if (source === undefined) return await runBuild(req, io, stateDir)
  // stdin, git or a download: written to a temp dir in the state dir for the build, removed after it.
  const { materializeContext } = await import('../../engine/contextSource.js')
  const { describeContextArg } = await import('../../common/contextArg.js')
  req.contextOrigin = describeContextArg(source)
  // A clone or a download can take a while before the first step shows: say what is going on
  // (rawjson's stderr holds events only, and quiet prints nothing but the result).
  if (source.kind !== 'stdin' && req.progress !== 'rawjson' && req.progress !== 'quiet') {
    io.stderr.write(`loading the build context from ${req.contextOrigin}\n`)
  }
  const ctx = await materializeContext(source, {
    stateDir,
    dockerfile: req.dockerfile.displayName,
    isDockerfileFromStdin: req.dockerfile.fromStdin === true,
    stdin: io.stdin,
    buildArgs: req.buildArgs,
    env: io.env,
    ...(io.signal !== undefined ? { signal: io.signal } : {}),
  })
  try {
    req.contextDir = ctx.contextDir
    if (ctx.dockerfilePath !== undefined) req.dockerfile = { path: ctx.dockerfilePath, displayName: req.dockerfile.displayName }
    else if (ctx.dockerfileText !== undefined) req.dockerfile = { displayName: 'Dockerfile', fromStdin: true, content: ctx.dockerfileText }
    return await runBuild(req, io, stateDir)
  } finally {
    await ctx.remove()
  }
}

async function runBuild (req: CliBuildRequest, io: CommandIo, stateDir: string): Promise<number> {
  // Files written after the build are checked first; a stale image ID goes (a failed build leaves none, as in buildx).
  if (req.iidFile !== undefined) { await rm(req.iidFile, { force: true }).catch(() => {}); await probeFileDest(req.iidFile, { what: '--iidfile' }) }
  if (req.metadataFile !== undefined) await probeFileDest(req.metadataFile, { what: '--metadata-file' })

  if (req.print === 'llb' || req.call === 'outline' || req.call === 'targets') {
    const { frontend } = await import('../../engine/frontend.js')
    const { converted, text } = await frontend(req, { stateDir, env: io.env, ...(io.signal !== undefined ? { signal: io.signal } : {}) })
    if (req.print === 'llb') {
      const llb = await import('../../llb/index.js')
      io.stdout.write(llb.formatDefinition(llb.mergeDefinitions(converted.platforms.map((p) => p.definition))))
    } else {
      const { formatOutline, formatTargets } = await import('../../frontend/dockerfile/convert/index.js')
      const opts = { format: req.callFormat, source: text }
      io.stdout.write(req.call === 'outline' ? formatOutline(converted.outline, opts) : formatTargets(converted.outline, opts))
    }
    return 0
  }
  if (req.call === 'check') return runCheck(req, io, stateDir)
  await checkSecretFiles(req.secrets)
  await checkSshSources(req.ssh, io.env)

  const progress = createProgress(req.progress, io)
  const { build } = await import('../../engine/build.js')
  const { isCheckFindingEvent } = await import('../../engine/checks.js')
  // `-o -` / `dest=-`: the archive goes through a temp file and reaches stdout only after a successful build.
  const { prepareStdoutOutput } = await import('../../exporter/index.js')
  const stdoutOutput = await prepareStdoutOutput(req.outputs, io.stdout)
  const givenOutputs = req.outputs
  req.outputs = stdoutOutput.outputs
  // tty and plain print check findings as one summary after the build; rawjson streams them as events.
  // When check=error=true stops the build, each finding is printed with its lines before the error.
  const findings: SolveEvent[] = []
  const isShown = (e: SolveEvent): boolean => {
    if (!isCheckFindingEvent(e)) return true
    findings.push(e)
    return req.progress === 'rawjson'
  }
  const history = await startHistory({ ...req, outputs: givenOutputs }, stateDir)
  for (const message of req.flagWarnings ?? []) {
    const e: SolveEvent = { type: 'warning', message, time: Date.now() }
    history?.handle(e)
    progress.handle(e)
  }
  let result
  try {
    result = await build(req, { stateDir, env: io.env, onEvent: (e: SolveEvent) => { history?.handle(e); if (isShown(e)) progress.handle(e) }, ...(io.signal !== undefined ? { signal: io.signal } : {}) })
  } catch (err) {
    progress.close(err)
    await stdoutOutput.discard()
    await history?.finish({ error: err })
    if (req.progress === 'rawjson') return await reportRawJsonError(err, io)
    if (history !== undefined && history.stepRecords().length > 0 && req.progress !== 'quiet') io.stderr.write(`Full logs: tsbuild history logs ${history.id}\n`)
    // Reported here, not in main: only the build knows the Dockerfile text an error points into.
    const { reportError } = await import('../report.js')
    const dockerfileText = req.dockerfile.content ?? await readFile(req.dockerfile.path ?? '', 'utf8').catch(() => undefined)
    if (hasCode(err, 'CHECK_FAILED') && req.progress !== 'quiet') io.stderr.write(formatFindingEvents(findings, dockerfileText))
    return reportError(err, io, dockerfileText !== undefined ? { dockerfileText } : {})
  }
  // rawjson: what the other modes print after the build becomes events; the findings were streamed already.
  if (req.progress === 'rawjson') for (const e of resultEvents(result.exported, Date.now())) progress.handle(e)
  progress.close()
  await stdoutOutput.flush(io.stdout)
  if (req.explain && req.progress !== 'rawjson') {
    const { formatExplanations } = await import('../../solver/explain/index.js')
    io.stderr.write(formatExplanations(result.explain.steps, result.explain.previousBuild))
  }
  const ex = result.exported !== undefined ? { ...result.exported, outputs: result.exported.outputs.map(stdoutOutput.shown) } : undefined
  await history?.finish({ result: { ...(ex?.descriptor !== undefined ? { digest: ex.descriptor.digest } : {}), names: ex === undefined ? [] : exportedNames(ex) } })
  if (req.metadataFile !== undefined) {
    const metadata = buildMetadata({ ...(ex !== undefined ? { exported: ex } : {}), ...(history !== undefined ? { buildRef: history.id } : {}), durationMs: result.durationMs, steps: history?.stepRecords() ?? [], explain: result.explain })
    await writeFileSafely(req.metadataFile, JSON.stringify(metadata, null, 2) + '\n', { what: '--metadata-file' })
  }
  // As buildx: the config digest of an image that is one manifest (docker's image ID), else the index's digest.
  const imageId = (ex !== undefined ? imageConfigDigest(ex) : undefined) ?? ex?.descriptor?.digest
  // As buildx: written after every successful build, empty when it made no image.
  if (req.iidFile !== undefined) await writeFileSafely(req.iidFile, imageId ?? '', { what: '--iidfile' })
  if (req.progress === 'quiet') {
    if (stdoutOutput.isStdout || !req.printImageId) return 0 // stdout holds the archive, or --progress none
    if (ex?.descriptor !== undefined) io.stdout.write(`${ex.descriptor.digest}\n`)
    else for (const o of ex?.outputs ?? []) io.stdout.write(`${o}\n`)
    return 0
  }
  if (req.progress === 'rawjson') return 0
  if (ex === undefined) {
    io.stderr.write('WARNING: No output specified: the result stays in the build cache only (use -t NAME, -o or --push)\n')
  } else {
    for (const n of ex.stored) io.stderr.write(`naming to ${n} done\n`)
    if (req.load && ex.stored.length > 0) io.stderr.write(`loaded into tsbuild's image store ${stateDir} (there is no docker daemon; see tsbuild images)\n`)
    for (const n of ex.pushed) io.stderr.write(`pushed ${n}\n`)
    if (ex.descriptor !== undefined) io.stderr.write(`${ex.descriptor.mediaType.includes('index') || ex.descriptor.mediaType.includes('list') ? 'index' : 'manifest'} ${ex.descriptor.digest}\n`)
  }
  if (result.checks.findings.length > 0) {
    const { formatFindingsSummary } = await import('../../frontend/dockerfile/checks/index.js')
    io.stderr.write(formatFindingsSummary(result.checks.findings))
  }
  return 0
}

/** `--check` / `--call=check`: the findings with their Dockerfile lines; exit 1 when there are any (as buildx does). */
async function runCheck (req: CliBuildRequest, io: CommandIo, stateDir: string): Promise<number> {
  const { frontend } = await import('../../engine/frontend.js')
  const { formatFinding } = await import('../../frontend/dockerfile/checks/index.js')
  const { formatSource } = await import('../report.js')
  const { checks, text } = await frontend(req, { stateDir, env: io.env, ...(io.signal !== undefined ? { signal: io.signal } : {}) })
  const n = checks.findings.length
  if (n === 0) { io.stdout.write('Check complete, no warnings found.\n'); return 0 }
  let out = `Check complete, ${n} ${n === 1 ? 'warning has' : 'warnings have'} been found!\n`
  for (const f of checks.findings) {
    out += `\nWARNING: ${formatFinding(f)}\n`
    if (f.range !== undefined) out += formatSource({ file: f.file, ranges: [f.range], text })
  }
  io.stdout.write(out)
  return 1
}

/**
 * A failed build in rawjson mode: the events (a failed step's `error` event
 * among them) are followed by one `ERROR:` line, as buildx ends its rawjson
 * output; the step's output box and Dockerfile lines stay out (the events and
 * the history have them).
 */
async function reportRawJsonError (err: unknown, io: CommandIo): Promise<number> {
  const { reportError } = await import('../report.js')
  let text = ''
  const capture = new Writable({ decodeStrings: false, write: (chunk: string | Buffer, _enc, done) => { text += String(chunk); done() } })
  const code = reportError(err, { ...io, stderr: capture })
  io.stderr.write(code === 70 ? text : `${/^ERROR: .*$/m.exec(text)?.[0] ?? `ERROR: ${text.trim().split('\n')[0] ?? ''}`}\n`)
  return code
}

async function readStdin (io: CommandIo): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of io.stdin) chunks.push(Buffer.from(c as Buffer))
  return Buffer.concat(chunks).toString('utf8')
}
