export { HistoryStore, DEFAULT_HISTORY_KEEP, settleOrphan } from './historyStore.js'
export type { BuildRecord, BuildStatus, BuildResultSummary, RequestSummary, StepRecord, StepStatus } from './types.js'
