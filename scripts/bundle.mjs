// Bundle the compiled CLI into a few ESM files (dist/bundle). Loading ~200
// small modules costs more than running a no-op rebuild, so the launcher
// loads the bundle; code splitting keeps `tsbuild --version` from loading the
// engine. Native and worker-pool packages stay external.
import { rmSync } from 'node:fs'
import { build } from 'esbuild'

// Chunk names change with their content: start from an empty directory.
rmSync('dist/bundle', { recursive: true, force: true })

await build({
  entryPoints: { main: 'src/cli/main.ts', compressWorker: 'src/exporter/compressWorker.ts' },
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  // Smaller code parses faster. Error classes set their own `name`; the source
  // maps beside the chunks map minified stack traces back.
  minify: true,
  external: ['zstd-napi', 'piscina', 'tar-stream', 'esbuild'],
  logLevel: 'warning',
})
