#!/usr/bin/env bash
# Starts the freshly built inused in the foreground with its defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
	echo "run: inused loads BPF programs and must run as root" >&2
	exit 1
fi
cat <<TXT
Starting inused (Ctrl-C stops it and detaches its BPF programs).
In another terminal, list the files open for writing with:
    $(pwd)/build/inuse-ls
    $(pwd)/build/inuse-ls --json
    $(pwd)/build/inuse-ls PATH...
TXT
exec ./build/inused "$@"
