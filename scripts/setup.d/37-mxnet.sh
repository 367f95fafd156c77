#!/usr/bin/env bash
# MXNet for the local executor, idempotently: mxnet 1.9.1 (its last release,
# PyPI's CPU wheel, ~50 MB) and numpy 1.23.5 in a venv outside the repository
# ($DLCOMPAT_MXNET_VENV, default /opt/dlcompat/venv-mxnet) made from
# /usr/bin/python3. MXNet 1.9.1 breaks on numpy >= 1.24 (np.bool) and numpy
# 1.23 has no wheel past CPython 3.11, so this needs Debian bookworm's 3.11;
# on another Python it says so and installs nothing (the plugin then runs in
# its image, scripts/build-images.sh mxnet-cpu). About 15 s the first time;
# a second run checks that the venv imports mxnet and does nothing else.
set -euo pipefail

VENV="${DLCOMPAT_MXNET_VENV:-/opt/dlcompat/venv-mxnet}"
SYS_PY=/usr/bin/python3
PINS="mxnet==1.9.1 numpy==1.23.5"

check='import importlib.metadata as m, sys; sys.exit(not (m.version("mxnet") == "1.9.1" and m.version("numpy") == "1.23.5"))'
if [[ -x "$VENV/bin/python3" ]] && "$VENV/bin/python3" -c "$check" 2>/dev/null; then
	echo "mxnet: $VENV is up to date ($PINS)"
	exit 0
fi
pyver="$("$SYS_PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [[ "$pyver" != 3.9 && "$pyver" != 3.10 && "$pyver" != 3.11 ]]; then
	echo "mxnet: $SYS_PY is Python $pyver; numpy 1.23 (which MXNet 1.9.1 needs) has no wheel for it: skipped (use the image: scripts/build-images.sh mxnet-cpu)"
	exit 0
fi
if ! "$SYS_PY" -c 'import ensurepip, venv' >/dev/null 2>&1; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends python3-venv >/dev/null 2>&1 ||
		{ apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-venv >/dev/null; }
fi
# libmxnet.so links against libgomp and libquadmath (gcc's), not bundled.
if ! ldconfig -p | grep -q 'libgomp.so.1 ' || ! ldconfig -p | grep -q 'libquadmath.so.0 '; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends libgomp1 libquadmath0 >/dev/null 2>&1 ||
		{ apt-get update -qq && apt-get install -y -qq --no-install-recommends libgomp1 libquadmath0 >/dev/null; }
fi
if [[ ! -x "$VENV/bin/python3" ]]; then
	echo "mxnet: creating $VENV"
	mkdir -p "$(dirname "$VENV")"
	"$SYS_PY" -m venv "$VENV"
fi
echo "mxnet: pip install $PINS into $VENV"
# shellcheck disable=SC2086
"$VENV/bin/pip" install -q --disable-pip-version-check $PINS
"$VENV/bin/python3" -c 'import mxnet, numpy; print("mxnet:", mxnet.__version__, "numpy", numpy.__version__)'
