#!/usr/bin/env bash
# One command from a fresh machine: install, then run tsbuild on the bundled example.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node bin/tsbuild.js --print=llb --platform linux/amd64,linux/arm64 examples/hello
