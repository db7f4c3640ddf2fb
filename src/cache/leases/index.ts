export { Lease, LeaseManager, isProcessAlive } from './leases.js'
export type { LeaseFile, LeaseResources } from './leases.js'
