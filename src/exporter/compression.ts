import { MediaType } from '../common/oci.js'
import { TsbuildError } from '../common/errors.js'

export type Compression = 'gzip' | 'zstd' | 'uncompressed'

export const DEFAULT_LEVEL: Record<Compression, number> = { gzip: 6, zstd: 3, uncompressed: 0 }

/** Layer media type for a compression; Docker schema2 has no zstd type, so zstd needs OCI types. */
export function layerMediaType (compression: Compression, ociMediaTypes: boolean): string {
  if (ociMediaTypes) {
    return compression === 'gzip' ? MediaType.ociLayerGzip : compression === 'zstd' ? MediaType.ociLayerZstd : MediaType.ociLayer
  }
  if (compression === 'zstd') {
    throw new TsbuildError('USAGE', 'zstd layers need OCI media types: drop oci-mediatypes=false or use compression=gzip')
  }
  return compression === 'gzip' ? MediaType.dockerLayerGzip : MediaType.dockerLayer
}

/** Compression of an existing layer blob, from its media type; undefined for foreign layer types. */
export function compressionOfMediaType (mediaType: string): Compression | undefined {
  switch (mediaType) {
    case MediaType.ociLayerGzip:
    case MediaType.dockerLayerGzip:
    case 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip':
      return 'gzip'
    case MediaType.ociLayerZstd:
    case 'application/vnd.docker.image.rootfs.diff.tar.zstd':
      return 'zstd'
    case MediaType.ociLayer:
    case MediaType.dockerLayer:
      return 'uncompressed'
    default:
      return undefined
  }
}
