#!/usr/bin/env bash
# Runs every fuzz target under shared/ for FUZZTIME (default 30s) each.
# Go fuzzes one target per `go test` invocation, hence the loop.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-30s}"
found=0
while IFS= read -r dir; do
	targets=$(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go | sed 's/^func //' | sort -u)
	for target in $targets; do
		found=$((found + 1))
		echo "+ go test -run '^\$' -fuzz '^${target}\$' -fuzztime ${fuzztime} ./${dir}" >&2
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "./${dir}"
	done
done < <(grep -rl --include='*_test.go' '^func Fuzz' shared | xargs -r -n1 dirname | sort -u)
echo "fuzz: ran ${found} target(s) for ${fuzztime} each" >&2
