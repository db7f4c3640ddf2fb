import type { ProgressMode } from '../../engine/request.js'
import type { SolveEvent } from '../../solver/events.js'
import type { CommandIo } from '../io.js'
import { holdWhileFull } from './backpressure.js'
import { PlainPrinter } from './plain.js'
import { encodeRawJson } from './rawjson.js'
import { CachedStepOrder } from './stepOrder.js'
import { TtyPrinter } from './tty.js'

export { buildMetadata, exportedNames, imageConfigDigest, startHistory, summarizeRequest, type ExportedSummary } from './buildReport.js'
export { HistoryRecorder } from './recorder.js'
export { NAME_CHARS, PlainPrinter, formatBytes } from './plain.js'
export { TtyPrinter } from './tty.js'
export { encodeRawJson, resultEvents, type RawJsonResult } from './rawjson.js'
export { StepNumbers, stepKey } from './stepNumbers.js'
export { CachedStepOrder, inStepOrder } from './stepOrder.js'
export { formatFindingEvents } from './findings.js'
export { holdWhileFull, whenDrained } from './backpressure.js'

/** A consumer of the build's event stream that draws it for a person or a program. */
export interface Progress {
  handle (e: SolveEvent): void
  /** The build ended (`error` set when it failed): flush, and for tty draw the final summary. */
  close (error?: unknown): void
}

/** auto is tty when stderr is a terminal (and TERM is not dumb), plain otherwise. */
export function resolveProgressMode (mode: ProgressMode, io: Pick<CommandIo, 'stderr' | 'env'>): Exclude<ProgressMode, 'auto'> {
  if (mode !== 'auto') return mode
  return io.stderr.isTTY === true && io.env.TERM !== 'dumb' ? 'tty' : 'plain'
}

/**
 * Pick the progress display for a mode; everything goes to stderr (stdout
 * carries only results). A step's output pauses while stderr is behind (a
 * slow pipe), so nothing piles up in memory and nothing is dropped.
 */
export function createProgress (mode: ProgressMode, io: CommandIo): Progress {
  const progress = chooseProgress(mode, io)
  return { handle: (e) => { progress.handle(e); holdWhileFull(e, io.stderr) }, close: (err) => { progress.close(err) } }
}

function chooseProgress (mode: ProgressMode, io: CommandIo): Progress {
  switch (resolveProgressMode(mode, io)) {
    case 'quiet':
      return { handle: () => {}, close: () => {} }
    case 'rawjson':
      return { handle: (e) => { io.stderr.write(encodeRawJson(e) + '\n') }, close: () => {} }
    case 'tty': {
      // A pty that reports 0 columns (`script -c`, some CI runners) is drawn 80 wide, as BuildKit does.
      const noColor = io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== ''
      const t = new TtyPrinter(io.stderr, { color: !noColor, columns: () => io.stderr.columns || 80 })
      const ordered = new CachedStepOrder((e) => t.handle(e))
      return { handle: (e) => ordered.handle(e), close: (err) => { ordered.flush(); t.close(err !== undefined) } }
    }
    case 'plain': {
      const p = new PlainPrinter(io.stderr)
      const ordered = new CachedStepOrder((e) => p.handle(e))
      return { handle: (e) => ordered.handle(e), close: () => { ordered.flush(); p.close() } }
    }
  }
}
