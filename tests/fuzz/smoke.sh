#!/usr/bin/env bash
# The fuzzers' short run for `make test`: each harness over its seed corpus
# and FUZZ_SMOKE_RUNS more inputs (a fixed seed: the same run every time).
# Prints a cmocka-style summary for tests/run-all.sh.
set -uo pipefail
cd "$(dirname "$0")/../.."
dir=${FUZZ_DIR:-build/fuzz}
runs=${FUZZ_SMOKE_RUNS:-20000}
bins=("$dir"/fuzz_*)
passed=0 failed=0
for bin in "${bins[@]}"; do
	[ -x "$bin" ] || continue
	if tests/fuzz/run.sh --runs "$runs" "$bin"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
done
echo "[  PASSED  ] $passed test(s)."
if [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
	echo "[  FAILED  ] $((failed ? failed : 1)) test(s)."
	exit 1
fi
