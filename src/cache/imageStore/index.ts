export { ImageStore, ANNOTATION_IMAGE_NAME, ANNOTATION_PULLED_FROM, originOf } from './imageStore.js'
export type { ImageMatch, StoredImage } from './imageStore.js'
export { parseImageName, tryParseImageName } from './imageName.js'
export type { ImageName } from './imageName.js'
export { isAbandonedLock, withFileLock } from './fileLock.js'
export type { FileLockOptions } from './fileLock.js'
export {
  imageSize, isIndexDescriptor, listManifests, listPlatforms, readImageConfig, readIndex, readJsonBlob, readManifest, resolveManifest,
} from './readImage.js'
export type { ResolvedManifest } from './readImage.js'
