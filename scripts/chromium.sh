#!/usr/bin/env bash
# Prints the path of the Chromium the browser tests drive: CHROMIUM_PATH, else one on
# PATH, else Debian's chromium package installed when we may (CHROMIUM_AUTO_INSTALL=0
# forbids it). Prints nothing when there is none: the browser tests then skip, saying so
# (under CI they fail).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/apt.sh
. "$ROOT/scripts/apt.sh"

find_browser() {
  if [ -n "${CHROMIUM_PATH:-}" ]; then echo "$CHROMIUM_PATH"; return 0; fi
  local name
  for name in chromium chromium-browser google-chrome; do
    command -v "$name" && return 0
  done
  return 1
}

find_browser || { apt_install CHROMIUM_AUTO_INSTALL chromium >/dev/null && find_browser; } || true
