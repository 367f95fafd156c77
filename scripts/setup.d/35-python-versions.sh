#!/usr/bin/env bash
# One small venv per CPython 3.9 … 3.13 this machine has, each with nothing
# but numpy, so the shared worker library (plugins/pyshim/worker) is run by
# a test on every Python a framework image may bring: 3.9 is Caffe's
# (Debian bullseye), 3.12 and 3.13 those of current framework images.
#
# Interpreters are looked for as python3.X on PATH, then under pyenv's
# versions folder (Debian bookworm ships only 3.11, and no registry these
# machines reach serves interpreters); one that is absent is reported and
# left out. The test runs on every venv made here, and fails where nothing
# may skip if the machine has an interpreter whose venv is missing. Venvs go to $DLCOMPAT_PYVERS_DIR (default /opt/dlcompat), as
# venv-py3.X; a second run checks each imports numpy and does nothing else.
set -euo pipefail

DIR="${DLCOMPAT_PYVERS_DIR:-/opt/dlcompat}"
PYENV_VERSIONS="${PYENV_ROOT:-$HOME/.pyenv}/versions"

# numpy per Python: the newest release that still supports it, pinned.
declare -A NUMPY=([3.9]=2.0.2 [3.10]=2.2.6 [3.12]=2.4.6 [3.13]=2.4.6)

find_python() {
	local v=$1 p
	if p="$(command -v "python$v" 2>/dev/null)" && "$p" -c 'import venv' 2>/dev/null; then
		echo "$p"
		return
	fi
	for p in "$PYENV_VERSIONS"/"$v".*/bin/python3; do
		[[ -x "$p" ]] && { echo "$p"; return; }
	done
	return 1
}

for v in 3.9 3.10 3.12 3.13; do
	venv="$DIR/venv-py$v"
	pin="numpy==${NUMPY[$v]}"
	if [[ -x "$venv/bin/python3" ]] && [[ "$("$venv/bin/python3" -c 'import numpy; print(numpy.__version__)' 2>/dev/null)" == "${NUMPY[$v]}" ]]; then
		echo "python $v: $venv is up to date ($pin)"
		continue
	fi
	if ! py="$(find_python "$v")"; then
		echo "python $v: no interpreter on this machine (python$v, $PYENV_VERSIONS/$v.*): left out"
		continue
	fi
	echo "python $v: $venv from $py with $pin"
	mkdir -p "$DIR"
	"$py" -m venv --clear "$venv"
	"$venv/bin/pip" install -q --disable-pip-version-check "$pin"
	"$venv/bin/python3" -c 'import sys, numpy; print("python", sys.version.split()[0], "numpy", numpy.__version__)'
done
