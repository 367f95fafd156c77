#!/usr/bin/env bash
# The Python frameworks for the local executor, idempotently:
#
#   PyTorch     Debian's python3-torch (1.13, CPU) and python3-numpy (1.24)
#               for /usr/bin/python3. Chosen over PyPI's torch because it is
#               ~35 s of apt instead of ~3 GB of CUDA wheels on machines
#               with no GPU; Debian's torch is built against Debian's numpy
#               1.x, so it stays out of any numpy-2 venv.
#   TensorFlow  tensorflow-cpu and keras from PyPI, and jax[cpu] (the jax
#   + Keras     plugin's framework and Keras's second backend), in a venv
#   + jax       outside the repository
#               ($DLCOMPAT_TF_VENV, default /opt/dlcompat/venv-tf) made
#               from /usr/bin/python3, every package pinned in
#               requirements-tf.txt beside this script.
#
# Caffe is not here: only Debian bullseye packages it, so it runs in its
# image (scripts/build-images.sh caffe-cpu).
#
# A second run checks that each environment imports and does nothing else.
# The plugins find these interpreters by themselves (see plugins/pyshim);
# DLCOMPAT_PYTHON_<FRAMEWORK> overrides that.
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV="${DLCOMPAT_TF_VENV:-/opt/dlcompat/venv-tf}"
REQ=scripts/setup.d/requirements-tf.txt
SYS_PY=/usr/bin/python3

apt_install() {
	export DEBIAN_FRONTEND=noninteractive
	# The package lists may be missing on a fresh machine: update once.
	if ! apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1; then
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "$@" >/dev/null
	fi
}

# --- PyTorch for /usr/bin/python3 -------------------------------------------
if "$SYS_PY" -c 'import torch, numpy' >/dev/null 2>&1; then
	echo "pytorch: $SYS_PY already imports torch $("$SYS_PY" -c 'import torch; print(torch.__version__)')"
else
	echo "pytorch: installing Debian's python3-torch and python3-numpy"
	apt_install python3-torch python3-numpy
	"$SYS_PY" -c 'import torch, numpy; print("pytorch: torch", torch.__version__, "numpy", numpy.__version__)'
fi

# --- TensorFlow + Keras (+ jax) venv -----------------------------------------
want="$(sha256sum "$REQ" | cut -c1-16)"
stamp="$VENV/.dlcompat-requirements"
# find_spec imports nothing: the up-to-date check takes a fraction of a second.
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] &&
	"$VENV/bin/python3" -c 'import importlib.util as u, sys; sys.exit(not all(u.find_spec(m) for m in ("tensorflow", "keras", "jax")))'; then
	echo "tensorflow+keras: $VENV is up to date (requirements $want)"
	exit 0
fi
"$SYS_PY" -c 'import ensurepip, venv' >/dev/null 2>&1 || apt_install python3-venv
if [[ ! -x "$VENV/bin/python3" ]]; then
	echo "tensorflow+keras: creating $VENV"
	mkdir -p "$(dirname "$VENV")"
	"$SYS_PY" -m venv "$VENV"
fi
echo "tensorflow+keras: pip install -r $REQ into $VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQ"
TF_CPP_MIN_LOG_LEVEL=2 "$VENV/bin/python3" -c '
import tensorflow, keras, jax
print("tensorflow+keras: tensorflow", tensorflow.__version__, "keras", keras.__version__, "jax", jax.__version__)'
echo "$want" >"$stamp"
