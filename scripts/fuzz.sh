#!/usr/bin/env bash
# Runs every Go fuzz target of the module, one after another, each for
# FUZZTIME (default 10m: `make fuzz`; `make test` runs a short pass with 5s).
#
# Targets are found, not listed: every `func FuzzXxx(f *testing.F)` in a
# _test.go file is one. Adding a target is writing it; nothing here changes.
#
#   scripts/fuzz.sh                    # every target, FUZZTIME each
#   FUZZTIME=30s scripts/fuzz.sh tensor # targets whose "pkg.FuzzName" matches the regexp
#   scripts/fuzz.sh -list              # print the targets and exit
#
# A failing input is written by `go test` to the package's
# testdata/fuzz/<Target>/ directory, where the plain `go test` then runs it
# for ever after: commit it with the fix. The script prints each target's
# executions and new corpus entries, and exits 1 if any target failed.
# FUZZMINIMIZETIME bounds the minimizing of each new input (default 10s;
# go test's 60s stalls a target whose inputs are large).
# FUZZ_PARALLEL sets the fuzzing workers (go test -parallel; default: all
# CPUs). FUZZ_LOG_DIR keeps each target's full output (default: a
# temporary directory, removed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10m}
list=0
if [[ ${1:-} == -list ]]; then
	list=1
	shift
fi
filter=${1:-.}

# targets prints "./pkg FuzzName" per fuzz target, sorted.
targets() {
	grep -rE --include='*_test.go' -o '^func Fuzz[A-Za-z0-9_]*\([a-zA-Z_][a-zA-Z0-9_]* \*testing\.F\)' . |
		grep -v -e '^\./\(shared\|bin\|results\)/' -e '/testdata/' |
		sed -E 's#^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\(.*#\1 \2#' |
		sort -u
}

mapfile -t all < <(targets)
selected=()
for t in "${all[@]}"; do
	read -r pkg name <<<"$t"
	if [[ "${pkg#./}.$name" =~ $filter ]]; then
		selected+=("$t")
	fi
done
if ((list)); then
	printf '%s\n' "${selected[@]}"
	exit 0
fi
if ((${#selected[@]} == 0)); then
	echo "fuzz.sh: no fuzz target matches ${filter@Q}" >&2
	exit 2
fi

logs=${FUZZ_LOG_DIR:-}
if [[ -z $logs ]]; then
	logs=$(mktemp -d)
	trap 'rm -rf "$logs"' EXIT
fi
mkdir -p "$logs"
par=()
[[ -n ${FUZZ_PARALLEL:-} ]] && par=(-parallel "$FUZZ_PARALLEL")

failed=0
summary=()
for t in "${selected[@]}"; do
	read -r pkg name <<<"$t"
	log="$logs/$(echo "${pkg#./}" | tr / _).$name.log"
	echo "fuzz: $pkg $name for $FUZZTIME" >&2
	start=$SECONDS
	status=ok
	if ! "$GO" test -run '^$' -fuzz "^$name\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "${FUZZMINIMIZETIME:-10s}" "${par[@]}" "$pkg" >"$log" 2>&1; then
		status=FAIL
		failed=1
		sed 's/^/  /' "$log" | tail -n 40 >&2
	fi
	# go test's progress lines: "fuzz: elapsed: 3s, execs: 1234 (411/sec), new interesting: 2 (total: 9)".
	last=$(grep -E '^fuzz: elapsed:' "$log" | tail -n 1 || true)
	execs=$(sed -nE 's/.*execs: ([0-9]+).*/\1/p' <<<"$last")
	new=$(sed -nE 's/.*new interesting: ([0-9]+).*/\1/p' <<<"$last")
	summary+=("$(printf '%-5s %-28s %-28s %6ss  execs %-12s new corpus %s' "$status" "${pkg#./}" "$name" "$((SECONDS - start))" "${execs:-?}" "${new:-?}")")
done
printf '%s\n' "${summary[@]}"
if ((failed)); then
	echo "fuzz.sh: a target failed; its input is in the package's testdata/fuzz/ (commit it with the fix)" >&2
fi
exit "$failed"
