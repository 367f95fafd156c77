#!/usr/bin/env bash
# ONNX Runtime for the local executor, idempotently: onnxruntime (CPU),
# onnx (the graph builder) and numpy from PyPI in a venv outside the
# repository ($DLCOMPAT_ONNX_VENV, default /opt/dlcompat/venv-onnx) made
# from /usr/bin/python3, every package pinned in requirements-onnx.txt
# beside this script (about 40 s and 210 MB cold; no compiler, no CUDA).
# A second run checks the stamp and that the modules are there, and does
# nothing else. The plugin finds this interpreter by itself (see
# plugins/onnxruntime); DLCOMPAT_PYTHON_ONNXRUNTIME overrides that.
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV="${DLCOMPAT_ONNX_VENV:-/opt/dlcompat/venv-onnx}"
REQ=scripts/setup.d/requirements-onnx.txt
SYS_PY=/usr/bin/python3

want="$(sha256sum "$REQ" | cut -c1-16)"
stamp="$VENV/.dlcompat-requirements"
# find_spec imports nothing: the up-to-date check takes a fraction of a second.
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] &&
	"$VENV/bin/python3" -c 'import importlib.util as u, sys; sys.exit(not all(u.find_spec(m) for m in ("onnxruntime", "onnx", "numpy")))'; then
	echo "onnxruntime: $VENV is up to date (requirements $want)"
	exit 0
fi
if ! "$SYS_PY" -c 'import ensurepip, venv' >/dev/null 2>&1; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends python3-venv >/dev/null 2>&1 ||
		{ apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-venv >/dev/null; }
fi
if [[ ! -x "$VENV/bin/python3" ]]; then
	echo "onnxruntime: creating $VENV"
	mkdir -p "$(dirname "$VENV")"
	"$SYS_PY" -m venv "$VENV"
fi
echo "onnxruntime: pip install -r $REQ into $VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQ"
"$VENV/bin/python3" -c '
import onnxruntime, onnx, numpy
print("onnxruntime:", onnxruntime.__version__, "onnx", onnx.__version__, "numpy", numpy.__version__, onnxruntime.get_available_providers())'
echo "$want" >"$stamp"
