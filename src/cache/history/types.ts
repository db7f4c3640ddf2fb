/**
 * One build as the history keeps it: what was asked (never secret values),
 * when, how it ended, and every step with its full log on disk beside the
 * record. `tsbuild history` and the metadata file's build ref read these.
 */
export interface BuildRecord {
  id: string
  /** What `history ls` shows: the first tag, else the context dir (with `:target`). */
  name: string
  request: RequestSummary
  createdAt: string // ISO 8601
  completedAt?: string
  durationMs?: number
  status: BuildStatus
  error?: string
  /** The process that runs the build; a `running` record whose process is gone reads as `interrupted`. */
  pid?: number
  steps: StepRecord[]
  result?: BuildResultSummary
  warnings: string[]
}

/** `interrupted`: the build's process ended (killed, crashed) before it could finish the record. */
export type BuildStatus = 'running' | 'completed' | 'failed' | 'cancelled' | 'interrupted'

/** The request, reduced to what is safe to keep: secret and ssh ids only, no values or paths. */
export interface RequestSummary {
  context: string
  dockerfile: string
  target?: string
  platforms: string[]
  tags: string[]
  outputs: string[]
  push: boolean
  noCache: boolean
  buildArgs: Record<string, string>
  secretIds: string[]
  sshIds: string[]
  /** Absent in records older than these fields, and when not given. */
  labels?: Record<string, string>
  noCacheFilter?: string[]
  /** `--network` when not the default. */
  network?: string
  /** `--add-host` as `host:ip`, `--shm-size` in bytes, `--ulimit` as `name=soft:hard`. */
  addHosts?: string[]
  shmSize?: number
  ulimits?: string[]
}

export interface StepRecord {
  /** The `#N` plain progress prints for this step. */
  number: number
  /** The vertex digest; absent for progress-only items (exporting, pushing). */
  digest?: string
  name: string
  status: StepStatus
  cached: boolean
  startedAt?: string
  completedAt?: string
  durationMs?: number
  missReason?: string
  error?: string
  /** Bytes of output in the step's log file. */
  logBytes: number
}

export type StepStatus = 'running' | 'cached' | 'completed' | 'error' | 'cancelled'

export interface BuildResultSummary {
  digest?: string
  names: string[]
}
