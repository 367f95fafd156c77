#!/usr/bin/env bash
# Figures for the result tools at fleet size, and the harness's overhead
# on a real run:
#   - go test -bench: merge of 2,000 shard files (200,000 cells), diff of
#     two 200,000-cell runs (reading both, comparing, rendering text; and
#     the comparison alone), the HTML report of 10,000 cells;
#   - the same merge and diff by bin/dlcompat under /usr/bin/time -v: wall
#     time and peak RSS, beside the size of the documents (the documents
#     from go run ./matrix/internal/benchdata);
#   - overhead: the wall time of `bin/dlcompat run` (the default CPU
#     matrix of the frameworks in $FRAMEWORKS, default gorgonia; as make
#     run does, with the default perf options) divided by the sum of the
#     time the plugins report computing in the frameworks (each cell's
#     compute_seconds, measured inside the plugin around the framework
#     calls). A cell whose plugin does not report it is counted and said.
# COUNT sets the benchmark repetitions (default 3). Run `make build` first.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT="${COUNT:-3}"
FRAMEWORKS="${FRAMEWORKS:-gorgonia}"
load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "# $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs); load average $(load)"
echo "# go test -bench, count=$COUNT"
go test -run '^$' -bench 'Merge2000Shards|Diff200k|HTML10k' -benchtime 1x -count "$COUNT" ./matrix/... | grep -E '^Benchmark' |
	awk '{printf "%-45s %8.2f s", $1, $3/1e9; for (i = 5; i < NF; i += 2) printf "  %s %s", $i, $(i+1); printf "\n"}'
echo "# load average after the benchmarks: $(load)"

echo
echo "# bin/dlcompat merge of 2,000 shards and diff of two 200,000-cell runs, under /usr/bin/time -v"
out="$(mktemp -d)"
data="$(mktemp -d)"
trap 'rm -rf "$out" "$data"' EXIT
go run ./matrix/internal/benchdata "$data"
echo "documents: shards $(du -sh "$data/shards" | cut -f1), old.json $(du -h "$data/old.json" | cut -f1), new.json $(du -h "$data/new.json" | cut -f1)"
timed() { # what, then the command: its wall time and peak RSS
	local what=$1 rc=0
	shift
	/usr/bin/time -v "$@" >/dev/null 2>"$out/time" || rc=$?
	awk -v what="$what" -v rc="$rc" '
		/Elapsed \(wall clock\)/ { n = split($NF, t, ":"); wall = t[n] + (n > 1 ? 60 * t[n-1] : 0) + (n > 2 ? 3600 * t[n-2] : 0) }
		/Maximum resident set size/ { rss = $NF / 1024 }
		END { printf "%-32s %7.2f s  peak RSS %6.0f MiB  (exit %d)\n", what, wall, rss, rc }' "$out/time"
}
timed "merge 2,000 shards" bin/dlcompat merge "$data"/shards/*.json -o "$out/all.json"
timed "diff two 200,000-cell runs" bin/dlcompat diff "$data/old.json" "$data/new.json"
rm -rf "$data" "$out/all.json"
echo "load average after: $(load)"

echo
echo "# harness overhead: bin/dlcompat run --frameworks $FRAMEWORKS (default perf options)"
start=$(date +%s%N)
rc=0
bin/dlcompat run --frameworks "$FRAMEWORKS" -o "$out" --quiet >/dev/null || rc=$?
end=$(date +%s%N)
echo "exit status $rc; load average $(load)"
tr ',' '\n' <"$out/run.json" | awk -v wall_ns=$((end - start)) '
	/"seconds":/ { split($0, a, ":"); cells += a[2]; n++ }
	/"compute_seconds":/ { split($0, a, ":"); compute += a[2]; m++ }
	END {
		wall = wall_ns / 1e9
		printf "cells %d (%d report compute time)\n", n, m
		printf "wall time of the command      %8.2f s\n", wall
		printf "sum of plugin calls (host)    %8.2f s\n", cells
		printf "sum of framework compute      %8.2f s\n", compute
		if (compute > 0) printf "overhead: wall / compute      %8.3f\n", wall / compute
		if (m < n) printf "(%d cells report no compute time: their plugins do not measure it; the ratio covers the rest only)\n", n - m
	}'
