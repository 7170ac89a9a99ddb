#!/usr/bin/env bash
# Runs libFuzzer harnesses: each for a given time, from its seed corpus
# (tests/fuzz/corpus/NAME, read only) and the corpus it grows (next to the
# binary: corpus/NAME), then prints executions and coverage per harness.
#
#   tests/fuzz/run.sh --time SECONDS BIN...
#   tests/fuzz/run.sh --runs N BIN...      (a fixed number of inputs)
set -uo pipefail
cd "$(dirname "$0")/../.."

mode=-max_total_time=60
case "${1:-}" in
--time) mode="-max_total_time=$2"; shift 2 ;;
--runs) mode="-runs=$2"; shift 2 ;;
esac
bad=0
summary=()
for bin in "$@"; do
	name=$(basename "$bin")
	seeds=tests/fuzz/corpus/$name
	work=$(dirname "$bin")/corpus/$name
	log=$(dirname "$bin")/$name.log
	# a harness's own flags (tests/fuzz/NAME.flags), after the common ones
	flags=$(cat "tests/fuzz/$name.flags" 2>/dev/null || true)
	mkdir -p "$work"
	echo "=== $name ($mode)"
	# the fuzzers report to their own log (not to a sanitized test run's);
	# a smaller quarantine than ASan's 256 MiB (freed memory is reused
	# sooner: fewer fresh pages per input), still far beyond an input's
	env -u UBSAN_OPTIONS ASAN_OPTIONS=quarantine_size_mb=32 \
		LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0 \
		"$bin" "$mode" -seed=1 \
		-print_final_stats=1 -detect_leaks=1 -timeout=25 -rss_limit_mb=2048 $flags \
		-artifact_prefix="$(dirname "$bin")/$name-" "$work" "$seeds" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	if [ "$rc" -ne 0 ]; then
		bad=1
		tail -n 40 "$log"
		summary+=("$name: FAILED (exit $rc; input saved by libFuzzer, see $log)")
	else
		summary+=("$name: ${execs:-?} execs, coverage ${cov:-?} edges, ${ft:-?} features")
	fi
done
echo
printf '%s\n' "${summary[@]}"
exit $bad
