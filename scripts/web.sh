#!/usr/bin/env bash
# Builds the console and the applicants' page into api/web/dist, which the binary embeds:
# the front-end libraries come from the npm registry at the versions package-lock.json
# pins (npm ci, no install scripts), and build.mjs bundles them with our sources.
# Node.js and npm are installed from Debian's packages when missing and we may
# (NODE_AUTO_INSTALL=0 forbids it).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/apt.sh
. "$ROOT/scripts/apt.sh"
WEB=$ROOT/api/web

if ! command -v npm >/dev/null; then
  apt_install NODE_AUTO_INSTALL nodejs npm ||
    { echo "web.sh: Node.js and npm are needed to build the pages: sudo apt-get install nodejs npm" >&2; exit 1; }
fi
cd "$WEB"
# A fresh clone, or a lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
fi
node build.mjs
