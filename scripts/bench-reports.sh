#!/usr/bin/env bash
# Figures for the result tools at fleet size, and the harness's overhead
# on a real run:
#   - go test -bench: merge of 1,000 shard files (100,000 cells), diff of
#     two 100,000-cell runs (reading both, comparing, rendering text; and
#     the comparison alone), the HTML report of 10,000 cells;
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
go test -run '^$' -bench 'Merge1000Shards|Diff100k|HTML10k' -benchtime 1x -count "$COUNT" ./matrix/... | grep -E '^Benchmark' |
	awk '{printf "%-45s %8.2f s", $1, $3/1e9; for (i = 5; i < NF; i += 2) printf "  %s %s", $i, $(i+1); printf "\n"}'
echo "# load average after the benchmarks: $(load)"

echo
echo "# harness overhead: bin/dlcompat run --frameworks $FRAMEWORKS (default perf options)"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
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
