export type { BlobInfo, ContentIngester, ContentProvider, ContentStore, WriteOptions } from './types.js'
export { LocalContentStore } from './local.js'
