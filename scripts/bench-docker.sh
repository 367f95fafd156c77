#!/usr/bin/env bash
# Prints the gorgonia plugin's start → ready time (process or container
# started, go-plugin handshake, Describe answered), median of N (default 9)
# starts, as a local subprocess and in its container (docker executor).
# Needs a Docker engine and dlcompat/gorgonia:scratch (make setup).
set -euo pipefail
cd "$(dirname "$0")/.."
N="${N:-9}"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
echo "# start → plugin-ready, median of $N, on $(nproc) cores; docker $(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?')"
DLCOMPAT_REQUIRE=1 go test -run '^$' -bench 'BenchmarkStartToReady' -benchtime "${N}x" -count 1 ./core/exec/docker/ | tee "$out" | grep -E '^(Benchmark|FAIL|---)' || true
echo
printf '%-10s %12s\n' executor 'median ms'
awk '/^BenchmarkStartToReady\/executor=/ {
	match($1, /executor=[a-z]+/); ex = substr($1, RSTART+9, RLENGTH-9)
	for (i = 2; i < NF; i++) if ($(i+1) == "ms-median") printf "%-10s %12.1f\n", ex, $i
}' "$out"
