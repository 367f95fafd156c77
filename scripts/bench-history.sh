#!/usr/bin/env bash
# Benchmarks of the history store (matrix/history): ingest, the latest
# matrix, one cell's history, rebuilding the site; time, allocation and heap, at the sizes
# given (default a growth series in nights, then in cells). The full size
# of issue 13 is NIGHTS=365 CELLS=10000 (3.65 M cells; several minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
sizes="${SIZES:-30x1000 120x1000 30x4000}"
if [ -n "${NIGHTS:-}" ]; then sizes="${NIGHTS}x${CELLS:-10000}"; fi
for s in $sizes; do
	n="${s%x*}" c="${s#*x}"
	echo "== $n nights × $c cells"
	go test -run XXX -bench . -benchtime 1x ./matrix/history ./matrix/site -args -history.nights "$n" -history.cells "$c" | grep '^Benchmark'
done
