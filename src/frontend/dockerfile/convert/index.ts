export type * from './types.js'
export { convertDockerfile } from './convert.js'
export { formatOutline, formatTargets } from './outline.js'
export { OCI_LAYOUT_SCHEME } from './namedContext.js'
