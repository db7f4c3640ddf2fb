#!/usr/bin/env node
// Thin launcher: the CLI is bundled into dist/bundle by `npm run build`.
import('../dist/bundle/main.js').then((m) => m.main(process.argv.slice(2))).then(
  (code) => { process.exitCode = code },
  (err) => { console.error('tsbuild: internal error:', err); process.exitCode = 70 },
)
