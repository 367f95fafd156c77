#!/usr/bin/env bash
# Prints forward and backward time per sample at batch 1 and 32, for the
# float64 oracle (core/reference) and the gorgonia plugin's engine, from
# `go test -bench`. BENCHTIME overrides the per-benchmark budget.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCHTIME="${BENCHTIME:-1x}"
COUNT="${COUNT:-3}"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
echo "# go test -bench, benchtime=$BENCHTIME count=$COUNT on $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs)"
go test -run '^$' -bench 'BenchmarkOracle' -benchtime "$BENCHTIME" -count "$COUNT" ./core/reference/ | tee -a "$out" | grep -E '^Benchmark' || true
CGO_ENABLED=0 go test -run '^$' -bench 'BenchmarkNet' -benchtime "${GORGONIA_BENCHTIME:-5x}" -count "$COUNT" ./plugins/gorgonia/engine/ | tee -a "$out" | grep -E '^Benchmark' || true
echo
echo "# median ms per sample"
printf '%-10s %-6s %-9s %6s %12s\n' impl model op batch ms/sample
awk '
/^Benchmark(Oracle|Net)\// {
	impl = ($1 ~ /^BenchmarkOracle/) ? "oracle" : "gorgonia"
	match($1, /model=[a-z]+/); model = substr($1, RSTART+6, RLENGTH-6)
	match($1, /op=[a-z]+/); op = substr($1, RSTART+3, RLENGTH-3)
	match($1, /batch=[0-9]+/); batch = substr($1, RSTART+6, RLENGTH-6)
	for (i = 2; i < NF; i++) if ($(i+1) == "ns/sample") v = $i
	key = impl " " model " " op " " batch
	vals[key] = vals[key] " " v
}
END {
	for (k in vals) {
		n = split(substr(vals[k], 2), a, " ")
		# insertion sort for the median
		for (i = 2; i <= n; i++) { x = a[i]; j = i - 1; while (j > 0 && a[j] > x) { a[j+1] = a[j]; j-- }; a[j+1] = x }
		med = (n % 2) ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
		split(k, f, " ")
		printf "%-10s %-6s %-9s %6s %12.3f\n", f[1], f[2], f[3], f[4], med / 1e6
	}
}' "$out" | sort
