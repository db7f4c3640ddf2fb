#!/usr/bin/env bash
# One command from a fresh Debian 12 machine (as root, with Node.js and npm):
# install what tsbuild needs, then build and run the bundled example for two
# platforms.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/quickstart-build.sh
