#!/usr/bin/env bash
# Prints the shape of the Go code, to compare the structure before and after a change:
#   (a) each package's lines and files, largest first;
#   (b) the 20 largest top-level functions and methods;
#   (c) per package, the exported types with more than 15 methods: how many, how many exported.
# Test files and generated files (a "// Code generated ... DO NOT EDIT." line) are left out.
# Assumes gofmt'd code: a top-level func starts at `^func ` and ends at the next `^}`.
# Usage: scripts/structure.sh [DIR]   (default: the module this script belongs to)
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

find . \( -name .git -o -name node_modules -o -name vendor -o -name testdata \) -prune -o \
	-type f -name '*.go' ! -name '*_test.go' -print |
	sed 's|^\./||' | sort | { xargs -r -d '\n' grep -LE '^// Code generated .* DO NOT EDIT\.$' || true; } >"$tmp/files"

# One pass over every file: lines and files per package (its directory), each top-level
# func's length, and each exported receiver type's method count.
awk -v out="$tmp" '
function dir(path) { return path ~ /\// ? substr(path, 1, match(path, /\/[^\/]*$/) - 1) : "." }
function emit(length_) { printf "%d\t%s\t%s\n", length_, fname, file > (out "/funcs"); start = 0 }
{
	file = $0; p = dir(file); files[p]++
	n = 0; start = 0
	while ((getline line < file) > 0) {
		n++; lines[p]++
		if (line ~ /^func /) {
			start = n; fname = line; recv = ""
			sub(/^func /, "", fname)
			if (fname ~ /^\(/) {  # a method: (r *T[K]) Name(...
				recv = substr(fname, 2, index(fname, ")") - 2)
				fname = substr(fname, index(fname, ")") + 2)
				sub(/\[.*$/, "", recv); sub(/^.* /, "", recv); sub(/^\*/, "", recv)
				if (recv ~ /^[A-Z]/) { methods[p "\t" recv]++; if (fname ~ /^[A-Z]/) exported[p "\t" recv]++ }
			}
			sub(/[\[(].*$/, "", fname)
			if (recv != "") fname = recv "." fname
			if (line ~ /}$/) emit(1)  # a one-line body
		} else if (start && line ~ /^}/) {
			emit(n - start + 1)
		}
	}
	close(file)
}
END {
	for (p in lines) printf "%d\t%d\t%s\n", lines[p], files[p], p > (out "/packages")
	for (k in methods) if (methods[k] > 15) printf "%d\t%d\t%s\n", methods[k], exported[k], k > (out "/types")
}' "$tmp/files"
touch "$tmp/packages" "$tmp/funcs" "$tmp/types"

echo "== (a) packages: lines and files (non-test, non-generated), largest first"
sort -t$'\t' -k1,1nr -k3,3 "$tmp/packages" | awk -F'\t' '{ printf "%7d %4d  %s\n", $1, $2, $3 }'
awk -F'\t' '{ l += $1; f += $2 } END { printf "%7d %4d  (%d packages)\n", l, f, NR }' "$tmp/packages"
echo
echo "== (b) the 20 largest top-level functions and methods: lines, name, file"
sort -t$'\t' -k1,1nr -k3,3 "$tmp/funcs" | awk -F'\t' 'NR <= 20 { printf "%7d  %-36s %s\n", $1, $2, $3 }'
echo
echo "== (c) exported types with more than 15 methods: methods (exported ones), package, type"
sort -t$'\t' -k1,1nr -k3,3 "$tmp/types" | awk -F'\t' '{ printf "%7d (%2d)  %s %s\n", $1, $2, $3, $4 } END { if (!NR) print "   (none)" }'
