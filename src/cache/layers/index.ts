export { LayerIndex, type LayerInfo } from './layerIndex.js'
