#!/usr/bin/env bash
# Prints the path of the PgBouncer the pooler test (TestBehindPgBouncer) runs: PGBOUNCER_PATH,
# else one on PATH or in /usr/sbin, else Debian's pgbouncer package installed when we may
# (PGBOUNCER_AUTO_INSTALL=0 forbids it). Prints nothing when there is none: the test then
# skips, saying so (under CI it fails).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/apt.sh
. "$ROOT/scripts/apt.sh"

find_pgbouncer() {
  if [ -n "${PGBOUNCER_PATH:-}" ]; then echo "$PGBOUNCER_PATH"; return 0; fi
  # Debian puts it in /usr/sbin, which is not on every user's PATH.
  command -v pgbouncer || { [ -x /usr/sbin/pgbouncer ] && echo /usr/sbin/pgbouncer; }
}

# Where systemd runs, the package also starts a system-wide pgbouncer on port 6432; the test
# runs one of its own, on a free port.
find_pgbouncer || { apt_install PGBOUNCER_AUTO_INSTALL pgbouncer >/dev/null && find_pgbouncer; } || true
