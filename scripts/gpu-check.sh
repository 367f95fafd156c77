#!/usr/bin/env bash
# The GPU check, as one step on a machine with an NVIDIA GPU (driver and
# libnvidia-ml) and a PyTorch built with CUDA. CI has no GPU: this is what
# exercises the plugins' cuda:N paths. It builds nothing: it takes prebuilt
# binaries (make build, elsewhere if need be; copy bin/ here), then
#   1. prints the NVML inventory (dlcompat devices),
#   2. prints what the plugins see (dlcompat plugins): pytorch must list
#      every gpu:N,
#   3. runs the pytorch and gorgonia plugins on every device with the local
#      executor, every check (perf included), writing OUT/run.json,
#   4. fails unless every GPU got pytorch cells that really ran (pass or
#      fail, not skip), and passes the run's own exit code on otherwise,
#   5. runs pytorch and jax in the reduced precisions (tf32, bf16, fp16) on
#      every GPU into OUT/precision, and fails on any of those cells that
#      neither ran nor was declared unsupported (its own block below).
#
# Usage: scripts/gpu-check.sh [OUT]          (default results/gpu-check)
#   DLCOMPAT_BIN=dir          prebuilt binaries (default bin: dir/dlcompat, dir/plugins/)
#   DLCOMPAT_PYTHON_PYTORCH   the interpreter with CUDA torch, when not python3
#   GPU_CHECK_ARGS            more flags for 'dlcompat run' (e.g. --perf-iterations 50)
set -uo pipefail
cd "$(dirname "$0")/.."
BIN="${DLCOMPAT_BIN:-bin}"
OUT="${1:-results/gpu-check}"

for f in "$BIN/dlcompat" "$BIN/plugins/dlcompat-plugin-pytorch" "$BIN/plugins/dlcompat-plugin-gorgonia"; do
	if [[ ! -x "$f" ]]; then
		echo "gpu-check: $f is missing: build with 'make build' (here or on a machine with Go) and copy bin/ here" >&2
		exit 2
	fi
done

echo "== NVML inventory ($BIN/dlcompat devices)"
"$BIN/dlcompat" devices || exit 3
gpus="$("$BIN/dlcompat" devices --json | grep -o '"id": *"gpu:[0-9]*"' | grep -o 'gpu:[0-9]*' | tr '\n' ' ')"
if [[ -z "$gpus" ]]; then
	echo "gpu-check: NVML reports no GPU (see the note above): nothing to check" >&2
	exit 3
fi

echo
echo "== plugins ($BIN/dlcompat plugins)"
"$BIN/dlcompat" plugins --plugins-dir "$BIN/plugins" | grep -E '^(PLUGIN|pytorch|gorgonia) '

echo
echo "== run: pytorch and gorgonia on cpu $gpus-> $OUT"
rm -rf "$OUT"
# shellcheck disable=SC2086
"$BIN/dlcompat" run --plugins-dir "$BIN/plugins" --executor local --frameworks pytorch,gorgonia \
	--devices all -o "$OUT" ${GPU_CHECK_ARGS:-}
rc=$?

echo
echo "== cuda:N paths exercised?"
# Every GPU must have pytorch cells that ran: a skip there means the
# plugin could not use the GPU (a CPU-only torch, an unmapped device).
PY="$(command -v python3 || echo /usr/bin/python3)"
"$PY" - "$OUT/run.json" $gpus <<'EOF'
import json, sys
run = json.load(open(sys.argv[1]))
bad = 0
for g in sys.argv[2:]:
    cells = [c for c in run.get("cells", []) if c["framework"] == "pytorch" and c["device"] == g]
    ran = [c for c in cells if c["status"] in ("pass", "fail")]
    print("%s: %d pytorch cells ran (%s)" % (g, len(ran), ", ".join(sorted(set(c["status"] for c in cells))) or "none"))
    for c in cells:
        if c["status"] not in ("pass", "fail"):
            print("  %s %s: %s %s" % (c["model"], c["check"], c["status"], c.get("reason", "")))
    bad |= not ran
sys.exit(bad)
EOF
bad=$?
if ((bad)); then
	echo "gpu-check: pytorch did not run on every GPU; its reasons are in $OUT/run.json and above" >&2
	exit 4
fi
# --- precision (issue 11): the reduced modes on cuda:N -------------------
# pytorch and jax in tf32, bf16 and fp16 (with the fp32 cells they are
# judged against) on every GPU, into OUT/precision. A mode a plugin does
# not declare for a GPU (bf16 before sm_80, fp16 in jax) is a skip that
# says so; an error (the mode asked was not the mode in effect) or a cell
# that never ran fails the check. DLCOMPAT_PYTHON_JAX names a CUDA jax.
echo
echo "== precision: pytorch and jax in fp32,tf32,bf16,fp16 on $gpus-> $OUT/precision"
prec_gpus="$(echo $gpus | tr ' ' ',')"
# shellcheck disable=SC2086
"$BIN/dlcompat" run --plugins-dir "$BIN/plugins" --executor local --frameworks pytorch,jax \
	--devices "$prec_gpus" --precisions fp32,tf32,bf16,fp16 --checks forward,backward,perf \
	-o "$OUT/precision" ${GPU_CHECK_ARGS:-}
prc=$?
"$PY" - "$OUT/precision/run.json" <<'EOF'
import json, sys
run = json.load(open(sys.argv[1]))
bad = 0
for c in run.get("cells", []):
    if c.get("precision", "fp32") == "fp32":
        continue
    ev = ", ".join("%s=%s" % kv for kv in sorted((c.get("precision_evidence") or {}).items()))
    print("%-8s %-6s %-4s %-5s %-8s %s %s" % (c["framework"], c["device"], c["precision"], c["model"], c["check"], c["status"], c.get("reason", "") or ev))
    bad |= c["status"] not in ("pass", "fail", "skip")
sys.exit(bad)
EOF
if (($?)); then
	echo "gpu-check: a reduced-precision cell did not run as asked (above; $OUT/precision/run.json)" >&2
	exit 5
fi
((rc == 0)) && rc=$prc
# --- end precision --------------------------------------------------------

echo "gpu-check: results in $OUT/run.json (dlcompat run exited $rc)"
exit "$rc"
