#!/usr/bin/env bash
# Runs every fuzz target in the module for a while each and prints what each executed.
# Usage: scripts/fuzz.sh [TIME] [SEQUENCES]   (TIME as go test's -fuzztime: 30s, 5m, 10000x; default
# 30s. SEQUENCES: also run TestStatefulAPI for that many random sequences, -rapid.checks)
# The targets are found in the code, so a new Fuzz function is run without editing this.
# Run it with a database (make fuzz provides one): FuzzRequests talks to a real server.
set -euo pipefail
cd "$(dirname "$0")/.."
time=${1:-30s}
sequences=${2:-}
summary=()
while IFS=: read -r file name; do
  pkg=$(dirname "$file")
  out=$(mktemp)
  echo "fuzz: $name ($pkg) for $time"
  corpus="$pkg/testdata/fuzz/$name"
  saved() { if [ -d "$corpus" ]; then find "$corpus" -type f | wc -l; else echo 0; fi; }
  before=$(saved)
  for attempt in 1 2; do
    if go test -run '^$' -fuzz "^${name}\$" -fuzztime "$time" "$pkg" 2>&1 | tee "$out"; then
      break
    fi
    # Go's fuzzer can fail its own shutdown on a starved machine ("context deadline
    # exceeded", no input saved): that is run once more; a saved input never is.
    if [ "$attempt" = 1 ] && grep -q 'context deadline exceeded' "$out" && [ "$(saved)" = "$before" ]; then
      echo "fuzz: $name: the fuzzer timed out stopping, with no failing input; running it again" >&2
      continue
    fi
    echo "fuzz: $name failed; the input that broke it is under $corpus" >&2
    rm -f "$out"
    exit 1
  done
  execs=$(grep -o 'execs: [0-9]*' "$out" | tail -1 | grep -o '[0-9]*' || echo "?")
  summary+=("$(printf '%-28s %-26s %10s execs' "$name" "$pkg" "$execs")")
  rm -f "$out"
done < <(grep -rHo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' . | sed 's/func //' | sort)
echo
echo "fuzz: every target ran for $time"
printf '%s\n' "${summary[@]}"
if [ -n "$sequences" ]; then
  echo
  echo "fuzz: TestStatefulAPI for $sequences sequences"
  # The server's request log, printed when it fails, is left out: the sequence says enough.
  go test -count=1 -v -run '^TestStatefulAPI$' -timeout 2h ./api -rapid.checks="$sequences" -rapid.shrinktime=5m -rapid.nofailfile 2>&1 |
    grep -v '^[[:space:]]*{"time"'
fi
