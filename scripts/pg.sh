#!/usr/bin/env bash
# Finds or provisions the PostgreSQL that `make run` and `make test` use, and prints the
# shell exports for it:
#   DATABASE_URL       the application's database (created when missing)
#   TEST_DATABASE_URL  a role on the same server that may create and drop test databases
#
# Order: an explicit DATABASE_URL; a server already on 127.0.0.1:5432; else a private
# cluster under .pgdata/ (port 54329), installing Debian's postgresql package first when
# it is missing and we may (root or password-less sudo; PG_AUTO_INSTALL=0 forbids it).
# PG_SKIP_LOCAL=1 ignores a server on :5432 (to exercise the private cluster).
# Usage: scripts/pg.sh env | stop
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
APP_DB=${APP_DB:-courier}
PRIVATE_PORT=${PRIVATE_PG_PORT:-54329}
PRIVATE_DIR=${PRIVATE_PG_DIR:-$ROOT/.pgdata}

# shellcheck source=scripts/apt.sh
. "$ROOT/scripts/apt.sh"
# shellcheck source=scripts/pglib.sh
. "$ROOT/scripts/pglib.sh"

say() { echo "pg.sh: $*" >&2; }
die() { say "$*"; exit 1; }

psql_cmd() {
  if command -v psql >/dev/null; then echo psql; elif [ -n "$(pg_bin)" ]; then echo "$(pg_bin)/psql"; fi
}

# can_connect URL: true when a trivial query succeeds.
can_connect() {
  local psql; psql=$(psql_cmd)
  [ -n "$psql" ] || return 1
  PGCONNECT_TIMEOUT=3 "$psql" "$1" -Atqc 'SELECT 1' >/dev/null 2>&1
}

# ensure_db ADMIN_URL NAME: create database NAME on the server when it is missing.
ensure_db() {
  local psql; psql=$(psql_cmd)
  if [ "$("$psql" "$1" -Atqc "SELECT 1 FROM pg_database WHERE datname = '$2'")" != 1 ]; then
    "$psql" "$1" -qc "CREATE DATABASE \"$2\"" >/dev/null
    say "created database $2"
  fi
}

with_db() { # with_db URL NAME: URL pointing at database NAME instead
  python3 - "$1" "$2" <<'PY' 2>/dev/null || echo "$1" | sed -E "s#(postgres(ql)?://[^/]*/)[^?]*#\1$2#"
import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))
PY
}

emit() { # emit APP_URL ADMIN_URL
  printf "export DATABASE_URL='%s'\nexport TEST_DATABASE_URL='%s'\n" "$1" "$2"
}

install_postgres() {
  say "PostgreSQL is not installed"
  apt_install PG_AUTO_INSTALL postgresql
}

private_cluster() {
  local bin; bin=$(pg_bin || true)
  if [ -z "$bin" ]; then
    install_postgres || die "no PostgreSQL found. Install it (sudo apt-get install postgresql), or start one on 127.0.0.1:5432, or set DATABASE_URL=postgres://user:pass@host:5432/courier, then run this again."
    bin=$(pg_bin) || die "postgresql installed but initdb not found under /usr/lib/postgresql"
  fi
  local dir=$PRIVATE_DIR
  if [ "$(id -u)" = 0 ]; then
    ensure_owner_user
    # PostgreSQL refuses to run as root; its owner must reach the data directory.
    if ! su postgres -s /bin/bash -c "test -x '$(dirname "$dir")'" 2>/dev/null; then
      dir=/var/tmp/courierd-pgdata-$(echo "$ROOT" | cksum | cut -d' ' -f1)
    fi
  fi
  if [ ! -s "$dir/PG_VERSION" ]; then
    say "creating a private PostgreSQL cluster in $dir (port $PRIVATE_PORT)"
    mkdir -p "$dir"
    give_to_owner "$dir"
    chmod 700 "$dir"
    run_as_owner "$bin/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  # Statement statistics for `make bench`, where the server ships the module.
  local preload=""
  [ -f "$bin/../lib/pg_stat_statements.so" ] && preload="-c shared_preload_libraries=pg_stat_statements"
  if ! run_as_owner "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    run_as_owner "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w \
      -o "-p $PRIVATE_PORT -k $dir -c listen_addresses=127.0.0.1 $preload" start >/dev/null \
      || die "the private cluster did not start; see $dir/server.log"
  fi
  local admin="postgres://postgres@127.0.0.1:$PRIVATE_PORT/postgres?sslmode=disable"
  ensure_db "$admin" "$APP_DB"
  emit "$(with_db "$admin" "$APP_DB")" "$admin"
}

cmd_env() {
  if [ -n "${DATABASE_URL:-}" ]; then
    emit "$DATABASE_URL" "${TEST_DATABASE_URL:-$(with_db "$DATABASE_URL" postgres)}"
    return
  fi
  local admin="postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
  if [ "${PG_SKIP_LOCAL:-0}" != 1 ] && can_connect "$admin"; then
    ensure_db "$admin" "$APP_DB"
    emit "$(with_db "$admin" "$APP_DB")" "${TEST_DATABASE_URL:-$admin}"
    return
  fi
  private_cluster
}

cmd_stop() {
  local bin; bin=$(pg_bin) || exit 0
  for dir in "$PRIVATE_DIR" /var/tmp/courierd-pgdata-"$(echo "$ROOT" | cksum | cut -d' ' -f1)"; do
    [ -s "$dir/PG_VERSION" ] && run_as_owner "$bin/pg_ctl" -D "$dir" -m fast stop || true
  done
}

case "${1:-}" in
  env) cmd_env ;;
  stop) cmd_stop ;;
  *) die "usage: scripts/pg.sh env|stop" ;;
esac
