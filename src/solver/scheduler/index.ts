export { Scheduler, type SchedulerOptions } from './scheduler.js'
export { Semaphore } from './semaphore.js'
export type { CacheDep, CacheMap, KeyFacts, OpContext, OpRunner, Result, SolvedVertex, SolverVertex } from './types.js'
