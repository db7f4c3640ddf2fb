// Bundle the compiled CLI (dist/bundle). Loading ~200 small modules cost more
// than a no-op rebuild, and so did resolving dozens of shared chunks, so each
// command is one self-contained file that main.js imports only when that
// command runs: `tsbuild --version` loads main.js alone, `tsbuild build` loads
// main.js and commands/build.js. Native and worker-pool packages stay external.
import { readdirSync, rmSync } from 'node:fs'
import { build } from 'esbuild'

// Start empty: files of an older layout must not linger.
rmSync('dist/bundle', { recursive: true, force: true })

const common = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  // Smaller code parses faster. Error classes set their own `name`; the source
  // maps beside the files map minified stack traces back.
  minify: true,
  external: ['zstd-napi', 'piscina', 'tar-stream', 'esbuild'],
  logLevel: 'warning',
}

const commands = readdirSync('src/cli/commands').filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).map((f) => f.slice(0, -3))
await Promise.all([
  // The entry: commands stay external (separate files), everything else it needs is small.
  build({ ...common, entryPoints: { main: 'src/cli/main.ts' }, outdir: 'dist/bundle', external: [...common.external, './commands/*'] }),
  // Commands are CommonJS so main.js can load them through V8's code cache (src/cli/codeCache.ts).
  build({
    ...common,
    format: 'cjs',
    outExtension: { '.js': '.cjs' },
    define: { 'import.meta.url': 'importMetaUrl' },
    // import() of the external packages becomes require(): code compiled by
    // vm.Script from a code cache has no dynamic-import hook in Node 20.
    supported: { 'dynamic-import': false },
    banner: { js: 'var importMetaUrl=require("node:url").pathToFileURL(__filename).href;' },
    entryPoints: Object.fromEntries(commands.map((c) => [`commands/${c}`, `src/cli/commands/${c}.ts`])),
    outdir: 'dist/bundle',
  }),
  // The export pool's worker, beside the command files that start the pool (the exporter looks next to itself).
  build({ ...common, entryPoints: { 'commands/compressWorker': 'src/exporter/compressWorker.ts' }, outdir: 'dist/bundle' }),
])
