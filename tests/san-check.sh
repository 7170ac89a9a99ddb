#!/usr/bin/env bash
# After a sanitized test run: every report any program wrote (the daemon,
# the tools, the tests) fails the run, and is shown.
set -uo pipefail
dir=${1:?usage: tests/san-check.sh DIR}
shopt -s nullglob
reports=("$dir"/*)
if [ "${#reports[@]}" -eq 0 ]; then
	exit 0
fi
for r in "${reports[@]}"; do
	echo "=== sanitizer report: $r"
	head -n 60 "$r"
done
echo "${#reports[@]} sanitizer report(s)"
exit 1
