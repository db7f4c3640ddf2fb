export * from './content/index.js'
export { openStateDir, resolveStateDir, stateDirPaths, OCI_LAYOUT_VERSION } from './stateDir.js'
export type { StateDir } from './stateDir.js'
export * from './imageStore/index.js'
