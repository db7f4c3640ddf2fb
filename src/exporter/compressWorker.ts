import { gzipSync } from 'node:zlib'
import { compress as zstdCompress } from 'zstd-napi'
import { Piscina } from 'piscina'

/**
 * Piscina task: compress one chunk of a layer tar into a self-contained gzip
 * member or zstd frame. Chunks arrive and leave as transferred ArrayBuffers,
 * so no layer bytes are copied between threads.
 */
export type CompressTask =
  | { kind: 'gzip'; level: number; data: Uint8Array }
  | { kind: 'zstd'; level: number; data: Uint8Array }

export default function compressChunk (task: CompressTask): unknown {
  let out: Uint8Array
  switch (task.kind) {
    case 'gzip':
      out = gzipSync(task.data, { level: task.level })
      break
    case 'zstd':
      out = zstdCompress(task.data, { compressionLevel: task.level })
      break
  }
  // A pooled Buffer shares its ArrayBuffer; only an exclusive one can be moved.
  if (out.byteOffset !== 0 || out.byteLength !== out.buffer.byteLength) out = new Uint8Array(out)
  return Piscina.move(out)
}
