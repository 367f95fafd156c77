#!/usr/bin/env bash
# Shows `dlcompat diff` on real runs of the gorgonia plugin (perf only),
# every run pinned to CPU 0 (taskset):
#   base, again  the same configuration twice: nothing should be flagged;
#   slow         the same, made slower on purpose: a busy loop shares
#                CPU 0 with the plugin, which gets about half of it; the
#                slowdown should be flagged, with its p-values.
# (GOMAXPROCS=1 does not slow the gorgonia plugin: it computes on one
# core.) Other load on the machine adds noise of its own between runs, so
# the load average is printed with each run.
# Usage: scripts/diff-demo.sh [DIR]   (run `make build` first)
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-$(mktemp -d)}"
mkdir -p "$dir"
hog=""
trap '[ -n "$hog" ] && kill "$hog" 2>/dev/null || true' EXIT
run() {
	rm -rf "${dir:?}/$1"
	taskset -c 0 bin/dlcompat run --frameworks gorgonia --checks perf -o "$dir/$1" --quiet >/dev/null
	echo "ran $1 — load average $(cut -d' ' -f1-3 /proc/loadavg)"
}
run base
run again
taskset -c 0 sh -c 'while :; do :; done' &
hog=$!
run slow
kill "$hog"
hog=""
for pair in "again:the same configuration twice" "slow:made slower on purpose"; do
	new="${pair%%:*}"
	echo
	echo "=== ${pair#*:}: dlcompat diff base/run.json $new/run.json --fail-on regression"
	rc=0
	bin/dlcompat diff "$dir/base/run.json" "$dir/$new/run.json" --fail-on regression || rc=$?
	echo "exit status $rc"
done
