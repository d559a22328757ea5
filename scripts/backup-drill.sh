#!/usr/bin/env bash
# The backup drill: proves, on this machine, that courierd's database is restored to a
# chosen moment with pgBackRest while courierd keeps writing. Read top to bottom it is also
# the procedure of docs/OPERATIONS.md, "Backup and restore":
#   1. a cluster archiving its WAL to a pgBackRest repository: stanza-create, check
#   2. courierd migrate up and seed; handhelds start writing; a full backup under the writes
#   3. at a moment T, a named restore point and the counts acknowledged then; writes go on
#      after T; a WAL switch archives the last segment
#   4. bad input: a restore into a non-empty data directory is refused
#   5. restore to T into a new data directory, start it, promote it: every count equals the
#      count acknowledged at T (nothing lost before T, nothing from after T), custody chains
#      verify, every proof file the ledger names is in the blob store's copy, courierd serves
#      from it
#   6. the recovery point and the recovery time, as figures
# Everything lives under one temporary directory, removed with its clusters and servers at
# the end, even on failure (DRILL_KEEP=1 keeps it to look at).
#
# Exit status: 0 proven; 1 failed; 77 cannot run here (no PostgreSQL server binaries, or no
# pgBackRest and it may not be installed: PGBACKREST_AUTO_INSTALL=0 forbids installing).
# COURIERD and DEVICESIM name built binaries; otherwise they are built here with go.
# DRILL_DEVICES (3), DRILL_BEFORE and DRILL_AFTER (seconds of writes before and after T,
# 4 and 3) shape the load.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/apt.sh
. "$ROOT/scripts/apt.sh"
# shellcheck source=scripts/pglib.sh
. "$ROOT/scripts/pglib.sh"

STANZA=courierd
POINT=courierd-drill-T
DEVICES=${DRILL_DEVICES:-3}
BEFORE=${DRILL_BEFORE:-4}
AFTER=${DRILL_AFTER:-3}
PASSWORD=drill-password-long-enough
# The tables whose rows are what courierd acknowledged: dossiers opened, their events,
# custody entries and the handhelds' applied mutations.
TABLES=(dossiers dossier_events custody_entries sync_mutations)

say() { echo "drill: $*"; }
fail() { echo "drill: FAILED: $*" >&2; exit 1; }
skip() { echo "drill: cannot run here: $*" >&2; exit 77; }
now() { echo "$EPOCHREALTIME"; }
seconds_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }

bin=$(pg_bin) || skip "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin"
if ! command -v pgbackrest >/dev/null; then
  apt_install PGBACKREST_AUTO_INSTALL pgbackrest >/dev/null 2>&1 || true
  command -v pgbackrest >/dev/null || skip "pgBackRest is not installed (apt-get install pgbackrest) and may not be installed here"
fi
ensure_owner_user

# free_port: a TCP port nobody listens on, by trying random ones below the kernel's
# ephemeral range (32768 and up), where the other programs' outgoing connections and
# port-0 listeners take theirs: a port chosen there can be gone by the time it is used.
free_port() {
  local port
  for _ in $(seq 100); do
    port=$((10000 + RANDOM % 22000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
  fail "no free port found"
}

work=$(mktemp -d "${TMPDIR:-/tmp}/courierd-drill.XXXXXX")
chmod 755 "$work"
give_to_owner "$work"
server_pid="" sim_pid=""
cleanup() {
  local status=$?
  set +e
  for pid in $sim_pid $server_pid; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  for dir in "$work/source" "$work/restored"; do
    [ -f "$dir/postmaster.pid" ] && run_as_owner "$bin/pg_ctl" -D "$dir" -m immediate stop >/dev/null 2>&1
  done
  if [ "$status" != 0 ]; then
    for log in "$work"/*.log "$work"/log/*.log; do
      [ -f "$log" ] && { echo "--- $log (tail)"; tail -20 "$log"; } >&2
    done
  fi
  if [ "${DRILL_KEEP:-0}" = 1 ]; then echo "drill: kept $work" >&2; else rm -rf "$work"; fi
  return "$status"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ -z "${COURIERD:-}" ] || [ -z "${DEVICESIM:-}" ]; then
  say "building courierd and devicesim"
  (cd "$ROOT" && go build -o "$work/courierd" ./cmd/courierd && go build -o "$work/devicesim" ./cmd/devicesim) ||
    fail "could not build courierd (make build builds its pages first) or devicesim; or set COURIERD and DEVICESIM"
  COURIERD=$work/courierd DEVICESIM=$work/devicesim
fi

# --- 1. A cluster whose WAL goes to a pgBackRest repository -------------------------------
source_port=$(free_port)
conf=$work/pgbackrest.conf
cat >"$conf" <<EOF
[global]
repo1-path=$work/repo
repo1-retention-full=2
compress-type=lz4
start-fast=y
log-path=$work/log
lock-path=$work/lock
log-level-console=warn
log-level-file=info

[$STANZA]
pg1-path=$work/source
pg1-port=$source_port
pg1-socket-path=$work
pg1-user=postgres
EOF
mkdir -p "$work/log" "$work/lock"
give_to_owner "$conf" "$work/log" "$work/lock"
backrest() { run_as_owner pgbackrest --config="$conf" --stanza="$STANZA" "$@"; }

run_as_owner "$bin/initdb" -D "$work/source" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
cat >>"$work/source/postgresql.conf" <<EOF
# What production sets (docs/OPERATIONS.md, "Backup and restore").
wal_level = replica
archive_mode = on
archive_command = 'pgbackrest --config=$conf --stanza=$STANZA archive-push %p'
listen_addresses = '127.0.0.1'
unix_socket_directories = '$work'
EOF
start_cluster() { # start_cluster DIR PORT [postgres options]
  run_as_owner "$bin/pg_ctl" -D "$1" -l "$work/$(basename "$1").log" -w -t 120 -o "-p $2 ${3:-}" start >/dev/null
}
start_cluster "$work/source" "$source_port"
backrest stanza-create
backrest check
say "cluster on port $source_port archives its WAL to $work/repo"

url() { echo "postgres://postgres@127.0.0.1:$1/${2:-courier}?sslmode=disable"; }
sql() { "$bin/psql" "$1" -v ON_ERROR_STOP=1 -Atq "${@:2}"; }
sql "$(url "$source_port" postgres)" -c 'CREATE DATABASE courier'

# --- 2. courierd's schema and data; writes start; a full backup under them ----------------
export DATABASE_URL AUTH_KEY_DIR=$work/keys DATA_KEY_DIR=$work/datakeys BLOB_DIR=$work/blobs \
  SEED_PASSWORD=$PASSWORD HOST=127.0.0.1 PORT SHUTDOWN_TIMEOUT=5s
DATABASE_URL=$(url "$source_port")
exec 3>>"$work/courierd.log" # courierd's own log lines
"$COURIERD" keygen "$AUTH_KEY_DIR" drill >/dev/null
"$COURIERD" migrate up >/dev/null 2>&3
"$COURIERD" seed --citizens 80 --dossiers 20 >/dev/null 2>&3

# serve_until_ready: courierd on a free port, in the background, until /readyz answers.
serve_until_ready() {
  PORT=$(free_port)
  "$COURIERD" serve 2>&3 &
  server_pid=$!
  for _ in $(seq 600); do
    curl -fso /dev/null "http://127.0.0.1:$PORT/readyz" && return
    kill -0 "$server_pid" 2>/dev/null || fail "courierd stopped; see its log"
    sleep 0.05
  done
  fail "courierd was not ready within 30 s"
}
stop_server() { kill "$server_pid"; wait "$server_pid" || true; server_pid=""; }

serve_until_ready
"$DEVICESIM" -base "http://127.0.0.1:$PORT" -devices "$DEVICES" -duration 10m -think 20ms \
  -password "$PASSWORD" -database "" >/dev/null 2>>"$work/devicesim.log" &
sim_pid=$!
backup_started=$(now)
backrest backup --type=full
say "full backup taken under writes in $(seconds_since "$backup_started") s"

# --- 3. The moment T ----------------------------------------------------------------------
sleep "$BEFORE"
# counts_sql [EXPRESSIONS]: a query of the rows in each of TABLES, then the expressions,
# '|' between them; counts URL runs it.
counts_sql() { echo "SELECT concat_ws('|', $(printf "(SELECT count(*) FROM %s), " "${TABLES[@]}")${1:-NULL})"; }
counts() { sql "$1" -c "$(counts_sql)"; }
# Writers are held back for an instant (SHARE locks wait for every open writing transaction
# and block new ones) so that the counts and the restore point describe the same state. The
# lock gives way after 200 ms, before any deadlock check, and is tried again.
mark_t() {
  sql "$DATABASE_URL" -c "SET lock_timeout = '200ms'" -c "BEGIN" \
    -c "LOCK TABLE $(IFS=,; echo "${TABLES[*]}") IN SHARE MODE" \
    -c "$(counts_sql "pg_create_restore_point('$POINT'), clock_timestamp()")" -c "COMMIT"
}
marked=""
for _ in $(seq 100); do
  marked=$(mark_t 2>/dev/null) && break
  marked=""
done
[ -n "$marked" ] || fail "could not hold the writers back for the restore point"
IFS='|' read -r -a at_t <<<"$marked"
t=${at_t[-1]}
say "T = $t: restore point $POINT at ${at_t[-2]}; acknowledged then: $(for i in "${!TABLES[@]}"; do printf '%s %s  ' "${TABLES[$i]}" "${at_t[$i]}"; done)"

sleep "$AFTER"
kill "$sim_pid"
wait "$sim_pid" || true
sim_pid=""
stop_server
IFS='|' read -r -a at_end <<<"$(counts "$DATABASE_URL")"
after_t=0
for i in "${!TABLES[@]}"; do after_t=$((after_t + at_end[i] - at_t[i])); done
[ "$after_t" -gt 0 ] || fail "nothing was written after T: the drill would prove nothing"
# pgBackRest's check switches to a new WAL segment and waits until it is archived: the
# restore point's segment is in the repository.
backrest check
say "$after_t rows written after T; WAL archived"
# The proof files are copied after T (production: a bucket's versioning, rclone sync or a
# file system snapshot, always younger than the restore target): files are named by their
# SHA-256 and never change, so a later copy holds every file the database at T names.
cp -a "$BLOB_DIR" "$work/blobs-copy"

# --- 4. Bad input: a restore into a non-empty data directory ------------------------------
if refusal=$("$ROOT/scripts/pitr-restore.sh" --config "$conf" --stanza "$STANZA" \
  --data "$work/source" --name "$POINT" 2>&1); then
  fail "a restore into the running cluster's directory was not refused"
fi
case "$refusal" in *"refusing to restore into $work/source: it is not empty"*) ;; *) fail "unexpected refusal: $refusal" ;; esac
sql "$DATABASE_URL" -c 'SELECT 1' >/dev/null || fail "the source cluster is hurt after the refused restore"
say "refused as it should: $refusal"

# --- 5. Restore to T into a new directory -------------------------------------------------
restore_started=$(now)
"$ROOT/scripts/pitr-restore.sh" --config "$conf" --stanza "$STANZA" --data "$work/restored" --name "$POINT"
restore_took=$(seconds_since "$restore_started")
replay_started=$(now)
# Archiving stays off on the copy: it must not push a second timeline into the drill's
# repository (a real restore turns it back on once the cluster is the primary).
restored_port=$(free_port)
start_cluster "$work/restored" "$restored_port" "-c archive_mode=off"
restored=$(url "$restored_port")
for _ in $(seq 1200); do
  [ "$(sql "$restored" -c 'SELECT pg_is_in_recovery()')" = f ] && break
  sleep 0.05
done
[ "$(sql "$restored" -c 'SELECT pg_is_in_recovery()')" = f ] || fail "the restored cluster did not finish recovery within 60 s"
replay_took=$(seconds_since "$replay_started")

IFS='|' read -r -a got <<<"$(counts "$restored")"
for i in "${!TABLES[@]}"; do
  say "${TABLES[$i]}: acknowledged at T ${at_t[$i]}, restored ${got[$i]}, at the end ${at_end[$i]}"
  [ "${got[$i]}" = "${at_t[$i]}" ] || fail "${TABLES[$i]}: restored ${got[$i]} rows, ${at_t[$i]} were acknowledged at T"
done
gap_ms=$(sql "$restored" -c "SELECT round(extract(epoch FROM '$t'::timestamptz - pg_last_xact_replay_timestamp()) * 1000)")
DATABASE_URL=$restored
"$COURIERD" verify-custody >"$work/verify.out" 2>&3 || fail "custody chains do not verify on the restored database: $(tail -3 "$work/verify.out")"
say "custody chains verify: $(tail -1 "$work/verify.out")"
# Every proof file the restored custody ledger names (and retention has not deleted) is in
# the copy of the blob store, where FileBlobs keeps it: ab/cd/abcd…. The seeded deliveries
# name a signature that was never a file (domain/demo): left out.
proofs=0
while read -r sha; do
  [ -f "$work/blobs-copy/${sha:0:2}/${sha:2:2}/$sha" ] || fail "proof file $sha, named by the restored custody ledger, is not in the blob copy"
  proofs=$((proofs + 1))
done < <(sql "$restored" -c "SELECT DISTINCT h FROM custody_entries, LATERAL (VALUES (signature_sha256), (photo_sha256)) p(h)
  WHERE h NOT IN ('', encode(sha256('demo signature'), 'hex')) AND NOT EXISTS (SELECT 1 FROM proof_deletions WHERE sha256 = h)")
[ "$proofs" -gt 0 ] || fail "the restored ledger names no proof file: the blob copy is not shown to match"
say "proof files: all $proofs named by the restored custody ledger are in the blob copy"
BLOB_DIR=$work/blobs-copy

ready_started=$(now)
serve_until_ready
ready_took=$(seconds_since "$ready_started")
stop_server

# --- 6. Figures ---------------------------------------------------------------------------
say "recovery point: T exactly; acknowledged rows lost 0, rows from after T present 0 (of $after_t); the last transaction replayed committed ${gap_ms} ms before T"
say "recovery time: $(awk -v a="$restore_took" -v b="$replay_took" -v c="$ready_took" 'BEGIN { printf "%.2f", a + b + c }') s (restore $restore_took s, replay to T and promote $replay_took s, courierd ready $ready_took s)"
say "PASSED"
