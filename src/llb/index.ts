/**
 * tsbuild's low-level build graph (LLB): immutable ops with content digests,
 * a fluent State builder in the style of BuildKit's client/llb, and
 * marshalled Definitions for the solver.
 *
 *   const st = llb.image('alpine:3.20').dir('/src')
 *     .run({ args: ['sh', '-c', 'make'], mounts: [llb.cacheMount('/root/.cache', { id: 'make' })] }).root()
 *   const def = st.marshal({ platform: 'linux/amd64' })
 */
export * from './ops.js'
export { encodeOp, encodeOpForCache, digestOf } from './encode.js'
export { normalizeImageRef } from './reference.js'
export { joinRoot, resolvePath, shlexSplit } from './paths.js'
export { mergeMetadata, type MetadataOptions, type Output, type Vertex, type MarshalContext } from './vertex.js'
export { State, ExecState, type RunOptions } from './state.js'
export { image, local, http, git, scratch, type ImageOptions, type LocalOptions, type HttpOptions, type GitOptions } from './source.js'
export { mount, cacheMount, tmpfsMount, secretMount, sshMount, DEFAULT_SSH_SOCKET, type MountSpec } from './exec.js'
export {
  copy, mkdir, mkfile, rm, symlink, FileActionChain,
  type CopyOptions, type MkdirOptions, type MkfileOptions, type RmOptions, type SymlinkOptions,
} from './fileop.js'
export { merge, diff } from './mergediff.js'
export {
  marshalDefinition, mergeDefinitions, definitionToJson, formatDefinition,
  type Definition, type MultiDefinition, type MarshalOptions, type DefinitionJson, type VertexJson,
} from './definition.js'
export { outputCount, vertexName, validateDefinition } from './inspect.js'
