export type { CacheKey, CacheRecord, RecordStore } from './types.js'
export { FileRecordStore } from './fileRecords.js'
export { keyLocks } from './keyLocks.js'
