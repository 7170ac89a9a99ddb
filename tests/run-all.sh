#!/usr/bin/env bash
# Runs cmocka test binaries one after another, shows their output, and ends
# with one summary line: "N passed, N failed, N skipped".
# Exit status: 0 when every binary passed, 1 otherwise.
set -uo pipefail

passed=0 failed=0 skipped=0 bad=0
for t in "$@"; do
	echo "=== $(basename "$t")"
	out=$(mktemp)
	"$t" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')
	s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')
	rm -f "$out"
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	if [ "$rc" -ne 0 ]; then
		bad=1
		[ "$f" -eq 0 ] && failed=$((failed + 1)) && echo "$(basename "$t"): exited $rc"
	fi
done
echo
echo "$passed passed, $failed failed, $skipped skipped"
exit "$bad"
