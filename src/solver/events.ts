import type { Digest } from '../common/digest.js'
import type { SourceRange } from '../common/errors.js'

/**
 * The one typed event stream of a build. The progress UI, the build history
 * and the metadata file are all consumers of it. Secrets never appear here:
 * ops redact before they emit.
 */
export type SolveEvent = VertexEvent | LogEvent | ProgressEvent | WarningEvent

export type VertexStatus = 'started' | 'cached' | 'completed' | 'error' | 'cancelled'

export interface VertexEvent {
  type: 'vertex'
  digest: Digest
  name: string
  status: VertexStatus
  time: number // ms since epoch
  /** Why the step did not hit the cache (when it ran). */
  missReason?: string
  error?: string
}

export interface LogEvent {
  type: 'log'
  digest: Digest
  stream: 1 | 2
  data: Uint8Array
  time: number
  /** Set by producers that can stop their output (a RUN's process); not part of the serialized event. */
  backpressure?: Backpressure
}

/**
 * How a consumer that cannot keep up with a step's output (a pipe or file it
 * writes to is full) slows the producer down. Call `wait` while handling the
 * event, never later: the producer reads no more output until every promise
 * passed for this event has settled, so a process printing faster than the
 * reader blocks on write, as under `docker run`. The promise must settle when
 * the consumer's stream drains and also when it fails or closes, or the step
 * never finishes. Output is never dropped.
 */
export interface Backpressure {
  wait (until: Promise<unknown>): void
}

/** Byte progress of pulls, pushes and exports. `id` groups updates of one item. */
export interface ProgressEvent {
  type: 'progress'
  digest?: Digest
  id: string
  name: string
  current: number
  total?: number
  done?: boolean
  time: number
}

/** Like BuildKit's SolveStatus warnings: Dockerfile check findings and the frontend's own warnings. */
export interface WarningEvent {
  type: 'warning'
  /** One line, whole on its own (a check finding: `FromAsCasing: … (line 1)`). */
  message: string
  digest?: Digest
  time: number
  /** The rule by BuildKit's name (`FromAsCasing`, `UnusedBuildArgs`). */
  rule?: string
  /** Lines that explain the rule. */
  detail?: string[]
  /** Where the rule is documented. */
  url?: string
  /** The Dockerfile lines it is about. */
  source?: { file: string; ranges: SourceRange[] }
}

/** Consumes events synchronously; see Backpressure for how a log consumer asks for a pause. */
export type EventSink = (e: SolveEvent) => void
