#!/usr/bin/env bash
# Installs the Debian packages inuse needs, if missing.
#
#   scripts/deps.sh          to build and run
#   scripts/deps.sh bench    ... and the benchmark suite's peers
#   scripts/deps.sh test     ... and the tests' tools (libFuzzer and the sanitizers'
#                            runtimes among them; the tests include a
#                            smoke run of the benchmark suite)
set -euo pipefail

pkgs=(
	clang llvm make gcc pkg-config
	libbpf-dev bpftool libelf-dev zlib1g-dev
	libjansson-dev libcmocka-dev liburing-dev libconfig-dev libsystemd-dev
	libmicrohttpd-dev python3 util-linux procps
)
# xfsprogs, e2fsprogs and dmsetup: the snapshot section's file systems and its
# device-mapper check
bench=(lsof psmisc fatrace libbpf-tools postgresql tar rsync restic borgbackup xfsprogs
	e2fsprogs dmsetup)
# every tool a test calls: curl and promtool (metrics), ss (iproute2), man,
# systemd-analyze (systemd), nm (binutils), socat, setpriv and prlimit
# (util-linux), tar, rsync, sqlite3, restic, borg, gzip and zstd (the
# end-to-end backups), the file systems of the file system tests, libFuzzer
# and the sanitizer runtimes (libclang-rt). Under CI=true a missing one
# fails its test instead of skipping it.
tests=(curl prometheus iproute2 man-db systemd binutils socat util-linux tar rsync sqlite3
	restic borgbackup gzip zstd btrfs-progs xfsprogs e2fsprogs bindfs fuse3 python3
	libclang-rt-14-dev)

case "${1:-}" in
"") ;;
bench) pkgs+=("${bench[@]}") ;;
test) pkgs+=("${bench[@]}" "${tests[@]}") ;;
*)
	echo "usage: scripts/deps.sh [bench|test]" >&2
	exit 2
	;;
esac

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}; run as root (or install them)" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
