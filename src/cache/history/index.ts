export { HistoryStore, DEFAULT_HISTORY_KEEP, DEFAULT_HISTORY_LOG_BYTES, logBytesOf, settleOrphan } from './historyStore.js'
export type { BuildRecord, BuildStatus, BuildResultSummary, RequestSummary, StepRecord, StepStatus } from './types.js'
