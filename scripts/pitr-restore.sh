#!/usr/bin/env bash
# Restores a pgBackRest backup of courierd's database into a NEW data directory, replaying
# archived WAL up to a moment, then promotes it (a new timeline: the old one stays intact).
#
#   scripts/pitr-restore.sh --config FILE --stanza NAME --data DIR \
#       (--time 'YYYY-MM-DD HH:MM:SS+00' | --name RESTORE_POINT | --latest)
#
# DIR must be missing or empty: this script refuses anything else before pgBackRest runs,
# so a restore can never write over a cluster (move a damaged one aside, never delete it
# before the restore is proven). Runs pgBackRest as the cluster's owner (postgres when
# root); PGBACKREST names another pgbackrest program.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/pglib.sh
. "$ROOT/scripts/pglib.sh"

die() { echo "pitr-restore.sh: $*" >&2; exit 2; }

config="" stanza="" data="" type="" target=""
set_target() {
  [ -z "$type" ] || die "give one of --time, --name or --latest"
  type=$1 target=${2:-}
}
while [ $# -gt 0 ]; do
  case "$1" in
    --config) config=${2:-}; shift 2 || die "--config needs a file" ;;
    --stanza) stanza=${2:-}; shift 2 || die "--stanza needs a name" ;;
    --data) data=${2:-}; shift 2 || die "--data needs a directory" ;;
    --time) set_target time "${2:-}"; shift 2 || die "--time needs a timestamp" ;;
    --name) set_target name "${2:-}"; shift 2 || die "--name needs a restore point" ;;
    --latest) set_target default; shift ;;
    *) die "unknown argument '$1' (usage: --config FILE --stanza NAME --data DIR --time TS|--name POINT|--latest)" ;;
  esac
done
[ -n "$config" ] && [ -n "$stanza" ] && [ -n "$data" ] || die "--config, --stanza and --data are required"
[ -n "$type" ] || die "say where to stop: --time TS, --name POINT or --latest"
[ "$type" = default ] || [ -n "$target" ] || die "--$type needs a value"

# The refusal comes first, and on its own: pgBackRest would also refuse a non-empty
# directory, but --delta or --force (one typo in a runbook) would make it overwrite one.
if [ -e "$data" ] && [ ! -d "$data" ]; then
  die "refusing to restore into $data: it exists and is not a directory"
fi
if [ -d "$data" ]; then
  present=$(ls -A "$data" | head -5 | tr '\n' ' ')
  if [ -n "$present" ]; then
    die "refusing to restore into $data: it is not empty (${present% }). Restore into a new, empty directory; move an old cluster aside rather than delete it"
  fi
fi
[ -r "$config" ] || die "cannot read the pgBackRest configuration $config"

mkdir -p "$data"
chmod 700 "$data"
give_to_owner "$data"
args=(--config="$config" --stanza="$stanza" --pg1-path="$data" --type="$type")
if [ "$type" != default ]; then
  args+=(--target="$target" --target-action=promote)
fi
run_as_owner "${PGBACKREST:-pgbackrest}" "${args[@]}" restore
