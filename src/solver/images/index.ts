export { ImageSource, imageLayers } from './imageSource.js'
export type { ImageLayer, ImageMetaResolver, ImageSourceOptions, ResolvedSourceImage } from './imageSource.js'
export { unpackImageLayers } from './unpack.js'
export { fetchMissingBlobs, fetchStoredLayer } from './storedLayers.js'
