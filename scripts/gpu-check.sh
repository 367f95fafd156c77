#!/usr/bin/env bash
# The GPU check, as one step on a machine with an NVIDIA GPU (driver and
# libnvidia-ml), no Docker and no network, whose python3 has a CUDA
# PyTorch and JAX (ENVIRONMENT.md, "A GPU, when there is one"). CI has no
# GPU: this is what exercises the plugins' cuda:N paths and the NVML
# telemetry and preflight (docs/spec.md §11). It builds nothing: it takes
# prebuilt binaries (make build elsewhere; copy bin/ here), then
#   1. prints the NVML inventory and the preflight (dlcompat devices --preflight),
#   2. prints what the plugins see (dlcompat plugins),
#   3. runs every framework whose plugin is there (pytorch, jax,
#      onnxruntime, gorgonia, …: one not installed is a skip that says so)
#      on every GPU, in every precision (fp32, fp64, tf32, bf16, fp16; a mode a plugin or a device
#      cannot run is a skip), every check, with telemetry, under a time
#      budget (GPU_CHECK_BUDGET, 420 s: the whole script stays under 8
#      minutes; when it runs out the run is interrupted, and what
#      finished is kept), writing OUT/run.json,
#   4. writes OUT/report.html and OUT/run.md, and prints the perf,
#      throttle flags and joules per item,
#   5. fails unless every GPU got pytorch cells that really ran (pass or
#      fail, not skip; exit 4), or when a reduced-precision cell of pytorch
#      or jax neither ran nor was declared unsupported (exit 5), and passes
#      the run's own exit code on otherwise.
# With no GPU it prints the inventory and preflight, says why, and exits 3.
#
# Usage: scripts/gpu-check.sh [OUT]          (default results/gpu-check)
#   DLCOMPAT_BIN=dir          prebuilt binaries (default bin: dir/dlcompat, dir/plugins/)
#   GPU_CHECK_PYTHON          the interpreter with CUDA torch and JAX (default python3);
#                             DLCOMPAT_PYTHON_<FRAMEWORK> set already wins
#   GPU_CHECK_BUDGET          seconds for the run (default 420)
#   GPU_CHECK_CHAR_BUDGET     seconds for the characterisation run (default 60; exit 6 if it fails)
#   GPU_CHECK_ARGS            more flags for 'dlcompat run' (e.g. --perf-iterations 20)
set -uo pipefail
cd "$(dirname "$0")/.."
BIN="${DLCOMPAT_BIN:-bin}"
OUT="${1:-results/gpu-check}"
BUDGET="${GPU_CHECK_BUDGET:-420}"
PY="${GPU_CHECK_PYTHON:-$(command -v python3 || echo /usr/bin/python3)}"
start=$SECONDS

for f in "$BIN/dlcompat" "$BIN/plugins/dlcompat-plugin-pytorch"; do
	if [[ ! -x "$f" ]]; then
		echo "gpu-check: $f is missing: build with 'make build' (here or on a machine with Go) and copy bin/ here" >&2
		exit 2
	fi
done

# The host binary loads libnvidia-ml.so.1 at run time (go-nvml, cgo): the
# driver's libraries may live outside the loader's path.
if ! ldconfig -p 2>/dev/null | grep -q 'libnvidia-ml.so.1'; then
	for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu /usr/lib64; do
		if [[ -e "$d/libnvidia-ml.so.1" ]]; then
			export LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
			echo "gpu-check: libnvidia-ml.so.1 from $d (LD_LIBRARY_PATH)"
			break
		fi
	done
fi

# Every Python-backed plugin uses the one interpreter that has the CUDA
# frameworks, unless told otherwise.
for fw in PYTORCH JAX ONNXRUNTIME TENSORFLOW KERAS MXNET THEANO CAFFE CNTK; do
	var="DLCOMPAT_PYTHON_$fw"
	[[ -n "${!var:-}" ]] || export "$var=$PY"
done

echo "== inventory and preflight ($BIN/dlcompat devices --preflight)"
"$BIN/dlcompat" devices --preflight || exit 3
gpus="$("$BIN/dlcompat" devices --json | grep -o '"id": *"gpu:[0-9]*"' | grep -o 'gpu:[0-9]*' | tr '\n' ' ')"
if [[ -z "$gpus" ]]; then
	echo "gpu-check: NVML reports no GPU (the notes above say why): nothing to check on a GPU; this machine cannot run the GPU check" >&2
	exit 3
fi
if command -v nvidia-smi >/dev/null; then
	nvidia-smi --query-gpu=index,name,driver_version,pstate,clocks.sm,clocks.max.sm,power.draw,power.limit,temperature.gpu --format=csv 2>/dev/null || true
fi

echo
echo "== plugins ($BIN/dlcompat plugins)"
"$BIN/dlcompat" plugins --plugins-dir "$BIN/plugins" --executor local || true

echo
echo "== run: every framework, every precision, on $gpus-> $OUT (budget ${BUDGET}s)"
rm -rf "$OUT"
mkdir -p "$OUT"
# SIGINT at the budget: the run stops between cells, writes what it has
# (the rest unknown) and exits 1; KILL 20 s later if it does not.
# shellcheck disable=SC2086
timeout -s INT -k 20 "$BUDGET" "$BIN/dlcompat" run --plugins-dir "$BIN/plugins" --executor local \
	--devices gpu --precisions fp32,fp64,tf32,bf16,fp16 --quiet -o "$OUT" ${GPU_CHECK_ARGS:-}
rc=$?
if [[ ! -s "$OUT/run.json" ]]; then
	echo "gpu-check: no $OUT/run.json (dlcompat run exited $rc)" >&2
	exit 3
fi
"$BIN/dlcompat" report "$OUT/run.json" --format html -o "$OUT/report.html" &&
	echo "gpu-check: report in $OUT/report.html"

echo
echo "== GPU cells, throttling and energy"
"$PY" - "$OUT/run.json" $gpus <<'EOF'
import json, sys
run = json.load(open(sys.argv[1]))
for p in run.get("preflight", []):
    if p["status"] in ("warn", "bad"):
        print("preflight %s %s %s: %s" % (p["status"], p["device"], p["name"], p.get("detail", "")))
bad = 0
for g in sys.argv[2:]:
    cells = [c for c in run.get("cells", []) if c["device"] == g]
    for c in cells:
        if c["check"] == "perf" and c["status"] == "pass":
            for t in c.get("timings", []):
                tel = t.get("telemetry") or {}
                print("%s %-11s %-5s %-4s %-10s b%-4d median %8.3f ms (%s)  %5.2f%% of peak  %s  %s J/item  SM %s MHz  %s W  mem %s MiB %s, plugin %s MiB (NVML)" % (
                    g, c["framework"], c["model"], c["precision"], t["name"], t["batch"], 1e3 * t["summary"]["median"], t.get("timer", "?"),
                    t.get("percent_of_peak", 0), "THROTTLED " + ",".join(tel.get("throttle_reasons", [])) if tel.get("throttled") else ("clean" if tel else "no telemetry"),
                    "%.3g" % tel["joules_per_item"] if tel.get("joules_per_item") else "-",
                    "%.0f" % tel.get("sm_clock_median_mhz", 0), "%.0f" % tel.get("power_median_w", 0),
                    "%.0f" % (c.get("peak_memory_bytes", 0) / 2**20), c.get("memory_kind", "?"),
                    "%.0f" % (tel["process_memory_max_bytes"] / 2**20) if tel.get("process_memory_max_bytes") else "-"))
        elif c["check"] != "perf":
            err = ("abs %.2g rel %.2g" % (c["max_abs_err"], c["max_rel_err"])) if isinstance(c.get("max_abs_err"), (int, float)) and isinstance(c.get("max_rel_err"), (int, float)) else ""
            print("%s %-11s %-5s %-4s %-12s %-7s %s %s" % (g, c["framework"], c["model"], c["precision"], c["check"], c["status"], err,
                  (c.get("reason") or "").splitlines()[0][:120] if c["status"] != "pass" and c.get("reason") else ""))
    ran = [c for c in cells if c["framework"] == "pytorch" and c["status"] in ("pass", "fail")]
    print("%s: %d pytorch cells ran" % (g, len(ran)))
    bad |= not ran
sys.exit(bad)
EOF
bad=$?
echo "gpu-check: $((SECONDS - start))s in all"
if ((bad)); then
	echo "gpu-check: pytorch did not run on every GPU; its reasons are in $OUT/run.json and above" >&2
	exit 4
fi
# --- precision (issue 11): the reduced modes on cuda:N -------------------
# The run above asked for every precision; here pytorch's and jax's
# reduced-mode cells (tf32, bf16, fp16) on the GPUs are checked. A mode a
# plugin does not declare for a GPU (bf16 before sm_80, fp16 in jax) is a
# skip that says so; an error (the mode asked was not the mode in effect)
# or a cell that never ran fails the check (exit 5).
echo
echo "== precision: pytorch and jax in tf32, bf16, fp16 on $gpus"
"$PY" - "$OUT/run.json" <<'EOF'
import json, sys
run = json.load(open(sys.argv[1]))
bad = 0
for c in run.get("cells", []):
    if c["framework"] not in ("pytorch", "jax") or c.get("precision", "fp32") not in ("tf32", "bf16", "fp16"):
        continue
    ev = ", ".join("%s=%s" % kv for kv in sorted((c.get("precision_evidence") or {}).items()))
    why = (c.get("reason") or ev or "").splitlines()
    print("%-8s %-6s %-4s %-5s %-12s %s %s" % (c["framework"], c["device"], c["precision"], c["model"], c["check"], c["status"], why[0][:140] if why else ""))
    bad |= c["status"] not in ("pass", "fail", "skip")
sys.exit(bad)
EOF
if (($?)); then
	echo "gpu-check: a reduced-precision cell did not run as asked (above; $OUT/run.json)" >&2
	exit 5
fi
# --- end precision --------------------------------------------------------

# --- characterisation (issue 14): each GPU through pytorch and jax --------
# A second, short run: the device check characterise (docs/spec.md §10:
# copy, triad, h2d, d2h, a GEMM per precision at n = 8192), about 30 s on
# an H200, under its own budget (GPU_CHECK_CHAR_BUDGET, 60 s), into
# OUT/characterise with its report (the roofline per GPU). It fails
# (exit 6) unless every GPU has a passing pytorch characterise cell: a
# wrong copy or product is a fail there, not a fast figure.
CHAR_OUT="$OUT/characterise"
echo
echo "== characterisation: pytorch and jax on $gpus-> $CHAR_OUT (budget ${GPU_CHECK_CHAR_BUDGET:-60}s)"
timeout -s INT -k 20 "${GPU_CHECK_CHAR_BUDGET:-60}" "$BIN/dlcompat" run --plugins-dir "$BIN/plugins" --executor local \
	--devices gpu --frameworks pytorch,jax --checks characterise --quiet -o "$CHAR_OUT"
if [[ -s "$CHAR_OUT/run.json" ]]; then
	"$BIN/dlcompat" report "$CHAR_OUT/run.json" --format html -o "$CHAR_OUT/report.html"
fi
"$PY" - "$CHAR_OUT/run.json" $gpus <<'EOF'
import json, sys
try:
    run = json.load(open(sys.argv[1]))
except Exception as e:
    print("characterisation: no results (%s)" % e)
    sys.exit(1)
devs = {d["id"]: d for d in run.get("devices", [])}
bad = 0
for g in sys.argv[2:]:
    d = devs.get(g, {})
    peaks = ", ".join("%s %.0f GFLOP/s" % kv for kv in sorted((d.get("peak_gflops_by_precision") or {}).items()))
    print("%s %s: theoretical %.0f GB/s, %s" % (g, d.get("name", "?"), d.get("theoretical_bandwidth_gbs", 0), peaks or "no per-precision peak known"))
    cells = [c for c in run.get("cells", []) if c["device"] == g and c["check"] == "characterise"]
    for c in cells:
        figs = ["%s %.4g %s" % (t["name"], t.get("gb_per_second") or t.get("gflops", 0), "GB/s" if t.get("gb_per_second") else "GFLOP/s") for t in c.get("timings", [])]
        print("  %-8s %-6s %s %s" % (c["framework"], c["status"], ", ".join(figs), (c.get("reason") or "")[:160]))
    bad |= not any(c["framework"] == "pytorch" and c["status"] == "pass" for c in cells)
sys.exit(bad)
EOF
if (($?)); then
	echo "gpu-check: pytorch's characterisation did not pass on every GPU (above; $CHAR_OUT/run.json)" >&2
	exit 6
fi
# --- end characterisation -------------------------------------------------

echo "gpu-check: results in $OUT/run.json, $OUT/run.md, $OUT/report.html (dlcompat run exited $rc)"
exit "$rc"
