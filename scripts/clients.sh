#!/usr/bin/env bash
# The generated clients: the device contract's Go client, and the Go and TypeScript clients
# of the API document (docs/openapi.json). `clients.sh check` fails when any of them is not
# what its document generates today (make lint); `clients.sh write` regenerates them.
# The TypeScript generator and compiler come from the npm registry at the versions
# api/client/typescript/package-lock.json pins, as the pages' build does.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
GO=${GO:-go}
MODE=${1:-check}
TS=$ROOT/api/client/typescript
cd "$ROOT"

stale=()
# go_client CONFIG DOCUMENT: generate into a temporary file, compare or move it in place.
go_client() {
  local config=$1 doc=$2 dir tmp
  dir=$(dirname "$config")
  tmp=$(mktemp -d)
  sed "s#^output: .*#output: $tmp/client.gen.go#" "$config" >"$tmp/oapi.yaml"
  $GO tool oapi-codegen -config "$tmp/oapi.yaml" "$doc"
  if [ "$MODE" = write ]; then
    mv "$tmp/client.gen.go" "$dir/client.gen.go"
  elif ! cmp -s "$tmp/client.gen.go" "$dir/client.gen.go"; then
    stale+=("$dir")
  fi
  rm -rf "$tmp"
}
go_client mobile-contract/client/oapi.yaml mobile-contract/openapi.yaml
go_client api/client/oapi.yaml docs/openapi.json

if ! command -v npm >/dev/null; then
  # shellcheck source=scripts/apt.sh
  . "$ROOT/scripts/apt.sh"
  apt_install NODE_AUTO_INSTALL nodejs npm ||
    { echo "clients.sh: Node.js and npm are needed for the TypeScript client: sudo apt-get install nodejs npm" >&2; exit 1; }
fi
if [ ! -f "$TS/node_modules/.package-lock.json" ] || [ "$TS/package-lock.json" -nt "$TS/node_modules/.package-lock.json" ]; then
  (cd "$TS" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
tmp=$(mktemp -d)
(cd "$TS" && node_modules/.bin/openapi-typescript "$ROOT/docs/openapi.json" -o "$tmp/schema.ts")
if [ "$MODE" = write ]; then
  mv "$tmp/schema.ts" "$TS/schema.ts"
elif ! cmp -s "$tmp/schema.ts" "$TS/schema.ts"; then
  stale+=(api/client/typescript)
fi
rm -rf "$tmp"
# The client must compile against the schema it ships with.
(cd "$TS" && node_modules/.bin/tsc --noEmit -p .)

if [ ${#stale[@]} -gt 0 ]; then
  echo "stale generated clients: ${stale[*]}: run scripts/clients.sh write" >&2
  exit 1
fi
