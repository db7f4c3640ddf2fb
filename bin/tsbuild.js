#!/usr/bin/env node
// Thin launcher: the CLI is bundled into dist/bundle by `npm run build`.
import('../dist/bundle/main.js').then((m) => m.main(process.argv.slice(2))).then(
  // An interrupted command has cleaned up by now: it exits without waiting
  // for output still queued for a reader that is not reading.
  (code) => { if (code === 130) process.exit(code); process.exitCode = code },
  (err) => { console.error('tsbuild: internal error:', err); process.exitCode = 70 },
)
