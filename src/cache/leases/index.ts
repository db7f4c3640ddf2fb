export { Lease, LeaseManager } from './leases.js'
export type { LeaseFile, LeaseResources } from './leases.js'
