#!/usr/bin/env bash
# Runs one step of a make target and says how long it took, on standard error:
#   timed.sh WHAT COMMAND...  runs COMMAND, then prints "make run: WHAT in 1.2 s"
#   timed.sh - COMMAND...     the command's last line of standard output is WHAT; its
#                             other lines pass through to standard output
# STEP names the target (make run by default). A step that fails says so, and fails.
set -uo pipefail

what=$1
shift
start=$EPOCHREALTIME
if [ "$what" = - ]; then
  out=$("$@")
else
  "$@"
fi
status=$?
took=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
if [ "$status" -ne 0 ]; then
  [ "$what" = - ] && [ -n "$out" ] && printf '%s\n' "$out"
  echo "${STEP:-make run}: failed after $took s: $*" >&2
  exit "$status"
fi
if [ "$what" = - ]; then
  what=$(printf '%s\n' "$out" | tail -n 1)
  printf '%s\n' "$out" | head -n -1
fi
echo "${STEP:-make run}: $what in $took s" >&2
